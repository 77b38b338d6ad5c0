#!/usr/bin/env bash
# First boot of a card prepared by prepare-sd.sh (run by doorbell-firstboot.service, as root): waits for the
# network, installs the agent with install.sh from this folder, removes the secrets from the boot partition,
# disables itself and reboots once so the I2C and 1-wire overlays take effect. Its output also goes to
# firstboot.log beside it, readable from any computer with a card reader if something goes wrong.
#   firstboot.sh [--root DIR]   (--root: tests; install into DIR, no network wait, no disable or reboot)
set -euo pipefail
trap 'echo "firstboot.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

SELF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SELF_DIR
root=''
if [[ ${1:-} == --root ]]; then root=$2; fi

main() {
  echo "doorbell-firstboot: start $(date -u +%Y-%m-%dT%H:%M:%SZ)"

  if [[ -z $root ]]; then
    # Wi-Fi stays soft-blocked on Raspberry Pi OS until a country is set; prepare-sd.sh sets it on cmdline.txt.
    if command -v rfkill >/dev/null; then rfkill unblock wifi || true; fi
    for _ in $(seq 1 60); do
      ip route show default 2>/dev/null | grep -q . && break
      sleep 5
    done
    ip route show default | grep -q . || { echo "doorbell-firstboot: no network yet; retrying in a minute"; exit 1; }
    # Up to two minutes for NTP; if it never syncs, apt may fail, and the unit retries a minute later.
    for _ in $(seq 1 24); do
      [[ $(timedatectl show -p NTPSynchronized --value 2>/dev/null) == yes ]] && break
      sleep 5
    done
  fi

  app=$root/var/lib/doorbell-firstboot/app
  rm -rf "$app"
  mkdir -p "$app"
  tar -xzf "$SELF_DIR/app.tar.gz" -C "$app"

  args=(--app "$app" --config "$SELF_DIR/agent.yaml" --no-start)
  [[ ! -f $SELF_DIR/ca.pem ]] || args+=(--ca "$SELF_DIR/ca.pem")
  [[ -z $root ]] || args+=(--root "$root")
  bash "$SELF_DIR/install.sh" "${args[@]}"
  rm -rf "$root/var/lib/doorbell-firstboot"

  # The boot partition is FAT: anyone who takes the card out can read it. The secret now lives in /etc/doorbell.
  rm -f "$SELF_DIR/agent.yaml" "$SELF_DIR/ca.pem" "$SELF_DIR/app.tar.gz"
  echo "doorbell-firstboot: installed $(date -u +%Y-%m-%dT%H:%M:%SZ); the secrets were removed from this card"
  if [[ -z $root ]]; then
    systemctl disable doorbell-firstboot.service
    mv "$SELF_DIR/firstboot.sh" "$SELF_DIR/firstboot.sh.done"
    systemctl --no-block reboot
  fi
}

main 2>&1 | tee -a "$SELF_DIR/firstboot.log"
exit "${PIPESTATUS[0]}"
