import { defineConfig } from 'vitest/config'

/** Tests that build and run containers (buildah, podman): CPU-heavy for a minute, so they run last, alone. */
const containerTests = [
  'test/deploy/collector/container.test.ts',
  'test/deploy/raspberry-pi/systemd-unit.test.ts',
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
          exclude: containerTests,
          sequence: { groupOrder: 0 },
        },
      },
      // After every other test: an image build next to real-time tests (ffmpeg segment timing) makes those flaky.
      { extends: true, test: { name: 'containers', include: containerTests, sequence: { groupOrder: 1 } } },
    ],
  },
})
