#!/usr/bin/env bash
# Prepares a Raspberry Pi OS image (or an SD card already written with one) so the Pi installs the doorbell
# agent by itself on first boot: no keyboard, monitor or SSH needed. Works on the image file without mounting
# it (mtools for the FAT boot partition, debugfs for the ext4 root), so it needs no root for an image file.
#
#   xz -d 2025-xx-xx-raspios-bookworm-arm64-lite.img.xz
#   deploy/raspberry-pi/prepare-sd.sh --image 2025-xx-xx-raspios-bookworm-arm64-lite.img --config front-door.yaml \
#       --wifi-ssid Home --wifi-psk 'secret' --wifi-country GB --user pi --password 'choose-one'
#
# What it writes:
#   boot partition  /doorbell/: install.sh and its unit files, firstboot.sh, app.tar.gz (the built app),
#                   agent.yaml (+ ca.pem); optional login: userconf.txt (Bookworm) and, on images that boot
#                   with cloud-init (Trixie), user-data; optional ssh (enable SSH);
#                   cfg80211.ieee80211_regdom=<country> on cmdline.txt when a Wi-Fi country is given.
#   root partition  /etc/systemd/system/doorbell-firstboot.service, enabled; optional Wi-Fi profile for
#                   NetworkManager in /etc/NetworkManager/system-connections/ (mode 0600).
# First boot runs firstboot.sh: it waits for the network, runs install.sh, deletes the secrets from the boot
# partition (anyone with a card reader can read it), disables itself and reboots once for the overlays.
set -euo pipefail
trap 'echo "prepare-sd.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

SELF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SELF_DIR

usage() {
  cat <<'EOF'
Usage: prepare-sd.sh --image FILE|DEVICE --config agent.yaml [options]
  --image FILE|DEVICE    Raspberry Pi OS image (.img, decompressed) or the SD card (/dev/sdX, /dev/mmcblk0)
  --config FILE          the agent's config (from `doorbell-admin devices add --write-config FILE`)
  --ca FILE              CA certificate to pin for mqtts (installed as /etc/doorbell/ca.pem)
  --app DIR              built project to put on the card (default: this repository; run `npm run build`)
  --wifi-ssid SSID       Wi-Fi network to join (else: Ethernet, or what Raspberry Pi Imager configured)
  --wifi-psk PASSPHRASE  its WPA passphrase
  --wifi-country CC      two-letter country code for the Wi-Fi regulatory domain (e.g. GB, DE, US)
  --user NAME            create this login on first boot (userconf.txt; cloud-init user-data on Trixie) ...
  --password PASSWORD    ... with this password (hashed here with openssl; never stored in clear)
  --ssh                  enable SSH on first boot
  -h, --help             this text
EOF
}

image='' config_file='' ca_file='' app_dir=$(cd "$SELF_DIR/../.." && pwd)
wifi_ssid='' wifi_psk='' wifi_country='' user='' password='' ssh=0
while (($#)); do
  case $1 in
    --image) image=$2; shift ;;
    --config) config_file=$2; shift ;;
    --ca) ca_file=$2; shift ;;
    --app) app_dir=$2; shift ;;
    --wifi-ssid) wifi_ssid=$2; shift ;;
    --wifi-psk) wifi_psk=$2; shift ;;
    --wifi-country) wifi_country=$2; shift ;;
    --user) user=$2; shift ;;
    --password) password=$2; shift ;;
    --ssh) ssh=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "prepare-sd.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

fail() { echo "prepare-sd.sh: $*" >&2; exit "${2:-1}"; }
log() { printf 'prepare-sd: %s\n' "$*"; }

[[ -n $image && -n $config_file ]] || { usage >&2; exit 2; }
[[ -r $image && -w $image ]] || fail "cannot read and write $image (an SD card needs sudo)"
[[ -r $config_file ]] || fail "cannot read $config_file"
[[ -z $ca_file || -r $ca_file ]] || fail "cannot read $ca_file"
[[ -f $app_dir/dist/agent/main.js ]] || fail "$app_dir/dist/agent/main.js is missing: run 'npm ci && npm run build' first"
[[ -z $wifi_ssid || -n $wifi_psk ]] || fail "--wifi-ssid needs --wifi-psk" 2
[[ -z $wifi_country || $wifi_country =~ ^[A-Z]{2}$ ]] || fail "--wifi-country is two capital letters, e.g. GB" 2
[[ -z $user || -n $password ]] || fail "--user needs --password" 2
for tool in sfdisk mcopy mmd mdeltree mtype debugfs tar; do
  command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool || -x /sbin/$tool ]] ||
    fail "needs $tool: sudo apt-get install fdisk mtools e2fsprogs"
done
export PATH="$PATH:/usr/sbin:/sbin"
if [[ -b $image ]]; then
  # Writing under a mounted file system corrupts it: desktops mount a freshly written card by themselves.
  mounted=$(awk -v dev="$(readlink -f "$image")" 'index($1, dev) == 1 { print $1 " on " $2 }' /proc/mounts)
  [[ -z $mounted ]] || fail "unmount the card first ($mounted): udisksctl unmount -b <partition>, or umount"
fi

# Partitions from the MBR: the first FAT one is the boot partition, the first Linux one the root.
read -r sector boot_start root_start < <(sfdisk -d "$image" 2>/dev/null | awk '
  /^sector-size:/ { size = $2 }
  /start=/ {
    match($0, /start= *[0-9]+/); start = substr($0, RSTART + 6) + 0
    match($0, /type= *[0-9a-fA-F]+/); type = tolower(substr($0, RSTART + 5)); gsub(/ /, "", type)
    if (boot == "" && (type == "b" || type == "c" || type == "e")) boot = start
    if (root == "" && type == "83") root = start
  }
  END { print (size ? size : 512), boot, root }')
[[ -n ${boot_start:-} && -n ${root_start:-} ]] ||
  fail "$image has no MBR with a FAT boot and a Linux root partition: is it a Raspberry Pi OS image?"
export MTOOLS_SKIP_CHECK=1
boot="$image@@$((boot_start * sector))"
rootfs="$image?offset=$((root_start * sector))"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The built app: package manifests and dist/ (no source maps), as install.sh --app expects it.
(cd "$app_dir" && { find ./package.json ./package-lock.json ./*/package.json ./dist/agent ./dist/shared \
  -path ./node_modules -prune -o -type f ! -name '*.map' -print0 2>/dev/null || true; } |
  tar --null -T - --owner=0 --group=0 -czf "$work/app.tar.gz")

mkdir "$work/doorbell"
cp "$SELF_DIR/install.sh" "$SELF_DIR/firstboot.sh" "$SELF_DIR/doorbell-agent.service" \
  "$SELF_DIR/var-lib-doorbell-segments.mount" "$SELF_DIR/doorbell.sysusers" "$work/app.tar.gz" "$work/doorbell/"
cp "$config_file" "$work/doorbell/agent.yaml"
[[ -z $ca_file ]] || cp "$ca_file" "$work/doorbell/ca.pem"

# Boot partition: replace /doorbell as a whole, so nothing from an earlier run lingers.
mdeltree -i "$boot" ::/doorbell 2>/dev/null || true
mmd -i "$boot" ::/doorbell
mcopy -i "$boot" -o "$work/doorbell/"* ::/doorbell/
log "boot partition: /doorbell/ ($(cd "$work/doorbell" && echo *))"

if [[ -n $user ]]; then
  command -v openssl >/dev/null || fail "--password needs openssl to hash it"
  printf '%s:%s\n' "$user" "$(openssl passwd -6 -stdin <<<"$password")" >"$work/userconf.txt"
  mcopy -i "$boot" -o "$work/userconf.txt" ::/userconf.txt
  log "boot partition: userconf.txt (login '$user')"
  # Trixie images (October 2025 on) configure the first boot with cloud-init from the boot partition's
  # user-data; only standard cloud-init keys are used here.
  if mtype -i "$boot" ::/user-data >/dev/null 2>&1; then
    {
      printf '#cloud-config\n# Written by deploy/raspberry-pi/prepare-sd.sh\nusers:\n'
      printf '  - name: %s\n    groups: [adm, dialout, audio, video, plugdev, input, netdev, gpio, i2c, spi, sudo]\n' "$user"
      printf '    shell: /bin/bash\n    lock_passwd: false\n    passwd: %s\n' "$(cut -d: -f2- "$work/userconf.txt")"
      printf '    sudo: ALL=(ALL) ALL\n'
      if ((ssh)); then printf 'ssh_pwauth: true\nruncmd:\n  - [systemctl, enable, --now, ssh]\n'; fi
    } >"$work/user-data"
    mcopy -i "$boot" -o "$work/user-data" ::/user-data
    log "boot partition: cloud-init user-data (login '$user')"
  fi
fi
if ((ssh)); then
  : >"$work/ssh"
  mcopy -i "$boot" -o "$work/ssh" ::/ssh
  log "boot partition: ssh (SSH enabled on first boot)"
fi
if [[ -n $wifi_country ]] && mtype -i "$boot" ::/cmdline.txt >"$work/cmdline.txt" 2>/dev/null; then
  # cmdline.txt is one line; set the regulatory domain there as Raspberry Pi Imager does.
  sed -i -E 's/ ?cfg80211\.ieee80211_regdom=[A-Z]{2}//; 1 s/$/ cfg80211.ieee80211_regdom='"$wifi_country"'/' \
    "$work/cmdline.txt"
  mcopy -i "$boot" -o "$work/cmdline.txt" ::/cmdline.txt
  log "boot partition: cmdline.txt regulatory domain $wifi_country"
fi

# Root partition, through debugfs: each file is removed first, so running this again is harmless.
cmds="$work/debugfs.cmds"
unit=/etc/systemd/system/doorbell-firstboot.service
wants=/etc/systemd/system/multi-user.target.wants/doorbell-firstboot.service
{
  echo "mkdir /etc/systemd/system/multi-user.target.wants"
  echo "rm $unit"
  echo "write $SELF_DIR/doorbell-firstboot.service $unit"
  echo "sif $unit mode 0100644"
  echo "sif $unit uid 0"
  echo "sif $unit gid 0"
  echo "rm $wants"
  echo "symlink $wants $unit"
} >"$cmds"
if [[ -n $wifi_ssid ]]; then
  nm=/etc/NetworkManager/system-connections/doorbell-wifi.nmconnection
  uuid=$(cat /proc/sys/kernel/random/uuid)
  printf '[connection]\nid=doorbell-wifi\nuuid=%s\ntype=wifi\nautoconnect=true\n\n[wifi]\nmode=infrastructure\nssid=%s\n\n[wifi-security]\nkey-mgmt=wpa-psk\npsk=%s\n\n[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n' \
    "$uuid" "$wifi_ssid" "$wifi_psk" >"$work/wifi.nmconnection"
  {
    echo "mkdir /etc/NetworkManager"
    echo "mkdir /etc/NetworkManager/system-connections"
    echo "rm $nm"
    echo "write $work/wifi.nmconnection $nm"
    echo "sif $nm mode 0100600"
    echo "sif $nm uid 0"
    echo "sif $nm gid 0"
  } >>"$cmds"
fi
debugfs -w -f "$cmds" "$rootfs" >/dev/null 2>"$work/debugfs.log" || true
# debugfs exits 0 even when a request fails, so read the unit back to be sure it landed.
debugfs -R "cat $unit" "$rootfs" 2>/dev/null >"$work/unit.check"
cmp -s "$work/unit.check" "$SELF_DIR/doorbell-firstboot.service" ||
  fail "could not write $unit into the root partition: $(grep -v '^debugfs' "$work/debugfs.log" | head -3)"
log "root partition: $unit (enabled)"
[[ -z $wifi_ssid ]] || log "root partition: Wi-Fi profile for \"$wifi_ssid\""
log "done: put the card in the Pi and power it on; the doorbell installs itself (several minutes) and reboots once"
