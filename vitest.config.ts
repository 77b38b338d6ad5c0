import { defineConfig } from 'vitest/config'

/** Tests that build and run containers (buildah, podman): CPU-heavy for a minute, so they run last, alone. */
const containerTests = [
  'test/deploy/collector/container.test.ts',
  'test/deploy/raspberry-pi/systemd-unit.test.ts',
]

/**
 * Fault scenarios (kill -9 rounds, partitions, full disks, fuzzing): minutes of real time, so they run
 * after the main tests, before the container builds. Sizes come from FAULT_* env (docs/reliability.md).
 */
const faultTests = ['test/faults/**/*.test.ts']

/**
 * The fleet's node crashes run three collector nodes, PostgreSQL, Redis and HAProxy: beside another fault
 * scenario on two cores, a killed node took 10 s and more to restart, which is the neighbour's load, not the
 * failover the test bounds (5 s), so it runs alone after the others.
 */
const fleetFaultTests = ['test/faults/fleet-node-crash.test.ts']

/**
 * The agent on emulated arm64 (QEMU user mode): each keeps a core busy for up to a minute, which would slow the
 * real-time tests beside them, so they run last, the two files side by side (about 75 s).
 */
const emulatedTests = [
  'test/system/arm64-agent.test.ts',
  'test/deploy/raspberry-pi/arm64-root.test.ts',
  'test/support/arm64-emulation.test.ts',
]

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    // Integration tests start real brokers and child processes; two cores are the norm here.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['test/**/*.test.ts'],
          exclude: [...containerTests, ...faultTests, ...emulatedTests],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'faults', include: faultTests, exclude: fleetFaultTests, sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        test: { name: 'fleet-faults', include: fleetFaultTests, sequence: { groupOrder: 2 } },
      },
      // After every other test: an image build next to real-time tests (ffmpeg segment timing) makes those flaky.
      { extends: true, test: { name: 'containers', include: containerTests, sequence: { groupOrder: 3 } } },
      { extends: true, test: { name: 'emulated', include: emulatedTests, sequence: { groupOrder: 4 } } },
    ],
  },
})
