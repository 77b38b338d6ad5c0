#!/usr/bin/env bash
# Installs (or removes) the doorbell agent on Raspberry Pi OS Bookworm or Trixie (64-bit recommended).
# Idempotent: a second run with the same options changes nothing and says so. Run as root on the Pi:
#
#   sudo deploy/raspberry-pi/install.sh --config agent.yaml      # config from `doorbell-admin devices add`
#   sudo deploy/raspberry-pi/install.sh --uninstall               # keeps /var/lib/doorbell and the config
#   sudo deploy/raspberry-pi/install.sh --uninstall --purge       # removes those too
#
# With --root DIR it only writes files under DIR (no apt, npm, user or systemctl calls), which is how the
# tests check it; --root DIR --bundle also puts Node 22 and the agent's node_modules into DIR, for DIR's CPU
# (an arm64 Pi root built on an x64 machine); --dry-run prints what would change and changes nothing.
set -euo pipefail
trap 'echo "install.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

SELF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SELF_DIR
readonly MARK_BEGIN='# BEGIN doorbell-agent (added by deploy/raspberry-pi/install.sh; --uninstall removes it)'
readonly MARK_END='# END doorbell-agent'
readonly NODE_MAJOR=22
readonly SERVICE=doorbell-agent.service
readonly MOUNT_UNIT=var-lib-doorbell-segments.mount

usage() {
  cat <<'EOF'
Usage: install.sh [options]
  --config FILE           agent config to install as /etc/doorbell/agent.yaml (mode 0640, group doorbell)
  --device-id ID          or write a config from these three (with --mqtt-url and --mqtt-password-file)
  --mqtt-url URL          e.g. mqtt://collector.local:1883 or mqtts://collector.example:8883
  --mqtt-password-file F  file whose first line is the device secret, or - to read it from stdin
                          (the MQTT username is the device id; never on the command line, where ps shows it)
  --ca FILE               CA certificate to pin for mqtts, installed as /etc/doorbell/ca.pem
  --app DIR               built project to install (holds dist/ and package.json); default: this repository
  --w1-pin N              GPIO of the 1-wire bus (default 4)
  --segments-size SIZE    size of the tmpfs that holds the camera's segment ring (default 96M)
  --no-start              install and enable, but do not (re)start the service now
  --uninstall             remove what the installer added; keeps data and config unless --purge
  --purge                 with --uninstall: also remove /var/lib/doorbell, /etc/doorbell and the user
  --root DIR              write files under DIR only: no apt, npm, useradd or systemctl (tests, images)
  --bundle                with --root: also install Node 22 and the agent's production node_modules
                          into DIR, for the CPU of DIR's /bin/sh (arm64, armv7l or x64), with this
                          machine's npm; nothing runs inside DIR. The user is made by DIR's own
                          systemd-sysusers at its boot, from /etc/sysusers.d/doorbell.conf
  --dry-run               print what would change; change nothing
  --with-commands         with --root: still run apt-get, npm, systemd-sysusers and systemctl as found on
                          PATH (the tests put recording stubs there); never use it on a real system
  -h, --help              this text
EOF
}

root='' dry_run=0 uninstall=0 purge=0 no_start=0 with_commands=0 bundle=0
config_file='' device_id='' mqtt_url='' mqtt_password='' mqtt_password_file='' ca_file=''
app_dir=$(cd "$SELF_DIR/../.." && pwd)
w1_pin=4 segments_size=96M
while (($#)); do
  case $1 in
    --config) config_file=$2; shift ;;
    --device-id) device_id=$2; shift ;;
    --mqtt-url) mqtt_url=$2; shift ;;
    --mqtt-password-file) mqtt_password_file=$2; shift ;;
    --mqtt-password)
      echo "install.sh: --mqtt-password is gone (every user could read the secret in ps): use --mqtt-password-file FILE, or - for stdin" >&2
      exit 2 ;;
    --ca) ca_file=$2; shift ;;
    --app) app_dir=$2; shift ;;
    --w1-pin) w1_pin=$2; shift ;;
    --segments-size) segments_size=$2; shift ;;
    --no-start) no_start=1 ;;
    --uninstall) uninstall=1 ;;
    --purge) purge=1 ;;
    --root) root=$(cd "$2" && pwd); shift ;;
    --dry-run) dry_run=1 ;;
    --with-commands) with_commands=1 ;;
    --bundle) bundle=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [[ -n $mqtt_password_file ]]; then
  if [[ $mqtt_password_file == - ]]; then
    IFS= read -r mqtt_password || true
  else
    [[ -r $mqtt_password_file ]] || { echo "install.sh: cannot read $mqtt_password_file" >&2; exit 2; }
    IFS= read -r mqtt_password <"$mqtt_password_file" || true
  fi
  [[ -n $mqtt_password ]] || { echo "install.sh: no secret in ${mqtt_password_file/#-/stdin}" >&2; exit 2; }
fi
[[ $w1_pin =~ ^[0-9]+$ ]] || { echo "install.sh: --w1-pin must be a GPIO number" >&2; exit 2; }
[[ $segments_size =~ ^[0-9]+[KMG]?$ ]] || { echo "install.sh: --segments-size like 64M" >&2; exit 2; }
live=1
[[ -z $root ]] || live=$with_commands
if ((bundle)) && [[ -z $root || $with_commands == 1 ]]; then
  echo "install.sh: --bundle goes with --root DIR (and not with --with-commands)" >&2
  exit 2
fi
if [[ -z $root ]] && ((!dry_run)) && [[ $(id -u) -ne 0 ]]; then
  echo "install.sh: run as root (sudo), or use --root DIR / --dry-run" >&2
  exit 1
fi

changes=0
log() { printf 'doorbell-install: %s\n' "$*"; }
# Runs a system command on a live install; prints it in --dry-run; skips it with --root.
run() {
  if ((dry_run)); then log "would run: $*"; elif ((live)); then "$@"; fi
}

# Writes stdin to $root$1 with mode $2 only when the content or mode differs (idempotence).
# Mode '-' keeps the mode of an existing file (config.txt lives on FAT, which has no modes).
put() {
  local dest=$root$1 mode=$2 tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [[ -f $dest ]] && cmp -s "$tmp" "$dest" && [[ $mode == - || $(stat -c %a "$dest") == "${mode#0}" ]]; then
    rm -f "$tmp"
    return 0
  fi
  changes=$((changes + 1))
  if ((dry_run)); then
    log "would write $1"
  elif [[ $mode == - && -f $dest ]]; then
    log "update $1"
    cat "$tmp" >"$dest"
  else
    log "write $1"
    mkdir -p "$(dirname "$dest")"
    install -m "${mode/-/0644}" "$tmp" "$dest"
  fi
  rm -f "$tmp"
}

# Removes $root$1 (file, link or folder) if present.
remove() {
  local dest=$root$1
  [[ -e $dest || -L $dest ]] || return 0
  changes=$((changes + 1))
  if ((dry_run)); then log "would remove $1"; else log "remove $1" && rm -rf "$dest"; fi
}

# Points the symlink $root$1 at $2 unless it already does.
link() {
  local dest=$root$1
  [[ -L $dest && $(readlink "$dest") == "$2" ]] && return 0
  changes=$((changes + 1))
  if ((dry_run)); then log "would link $1 -> $2"; else
    log "link $1 -> $2"
    mkdir -p "$(dirname "$dest")"
    ln -sfn "$2" "$dest"
  fi
}

# The firmware config: /boot/firmware/config.txt since Bookworm, /boot/config.txt before.
boot_config() {
  if [[ -d $root/boot/firmware ]]; then echo /boot/firmware/config.txt; else echo /boot/config.txt; fi
}

# Prints config.txt ($root$1) without our marked block.
without_block() {
  [[ -f $root$1 ]] || return 0
  awk -v b="$MARK_BEGIN" -v e="$MARK_END" '$0==b{skip=1;next} $0==e{skip=0;next} !skip' "$root$1"
}

overlays_block() {
  # [all] first: stock config.txt ends with model sections ([cm4], [cm5]) that would otherwise swallow ours.
  printf '%s\n' "$MARK_BEGIN" '[all]' 'dtparam=i2c_arm=on' "dtoverlay=w1-gpio,gpiopin=$w1_pin" "$MARK_END"
}

unit_text() {
  sed -e "s/@SEGMENTS_SIZE@/$segments_size/g" "$SELF_DIR/$1"
}

yaml_quote() { printf "'%s'" "${1//\'/\'\'}"; }

config_text() {
  if [[ -n $config_file ]]; then
    cat "$config_file"
    return
  fi
  printf 'deviceId: %s\nmqtt:\n  url: %s\n  username: %s\n  password: %s\n' \
    "$(yaml_quote "$device_id")" "$(yaml_quote "$mqtt_url")" "$(yaml_quote "$device_id")" \
    "$(yaml_quote "$mqtt_password")"
  [[ -z $ca_file ]] || printf '  caFile: /etc/doorbell/ca.pem\n'
}

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# Node 22: Debian's package when the release has it, else npm's `node` package (the official builds),
# fetched through whatever registry npm is configured for. /opt/doorbell/bin/node points at the result.
install_node() {
  local candidate
  if [[ -x $root/usr/bin/node && $(node_major "$root/usr/bin/node") -ge $NODE_MAJOR ]]; then
    link /opt/doorbell/bin/node /usr/bin/node
    return
  fi
  candidate=$(apt-cache policy nodejs 2>/dev/null | awk '/Candidate:/{print $2}' | sed -E 's/^[0-9]+://')
  if [[ ${candidate%%.*} =~ ^[0-9]+$ ]] && ((${candidate%%.*} >= NODE_MAJOR)); then
    run apt-get install -y --no-install-recommends nodejs npm
    link /opt/doorbell/bin/node /usr/bin/node
    return
  fi
  local prefix=$root/opt/doorbell/node
  if [[ ! -x $prefix/node_modules/.bin/node || $(node_major "$prefix/node_modules/.bin/node") -lt $NODE_MAJOR ]]; then
    log "Node $NODE_MAJOR is not in this release's packages; installing npm's node@$NODE_MAJOR into /opt/doorbell/node"
    run mkdir -p "$prefix"
    run npm install --prefix "$prefix" --no-save --no-audit --no-fund "node@$NODE_MAJOR"
    changes=$((changes + 1))
  fi
  local binary
  binary=$(readlink -f "$prefix/node_modules/.bin/node" || true)
  ((dry_run)) || link /opt/doorbell/bin/node "${binary#"$root"}"
}

# The CPU of the root being bundled, as Node's packages name it, from the ELF header of its /bin/sh
# (e_machine at byte 18): the root may be another architecture than this machine, so nothing in it is run.
root_arch() {
  local sh machine
  sh=$root/usr/bin/$(basename "$(readlink "$root/bin/sh" 2>/dev/null || echo sh)")
  [[ -f $sh ]] || sh=$root/bin/sh
  machine=$(od -An -tu2 -j18 -N2 "$sh" 2>/dev/null | tr -d ' ' || true)
  case $machine in
    183) echo arm64 ;;
    62) echo x64 ;;
    40) echo armv7l ;;
    *) echo "install.sh: cannot tell the CPU of $sh (ELF machine '${machine:-none}'): --bundle needs a Debian root" >&2
      exit 1 ;;
  esac
}

# npm's --cpu name for a Node package architecture.
npm_cpu() { if [[ $1 == armv7l ]]; then echo arm; else echo "$1"; fi; }

# The major version of the Node package unpacked in $1, or 0.
package_major() {
  sed -n -E 's/^[[:space:]]*"version":[[:space:]]*"([0-9]+)\..*/\1/p' "$1/package.json" 2>/dev/null | head -1 | grep . || echo 0
}

# --bundle: npm's node-linux-<cpu>@22 (the official build for the root's CPU) under /opt/doorbell/node.
# `npm install` refuses a package for another CPU, so it is fetched with `npm pack` and unpacked.
bundle_node() {
  local arch=$1 pkg dir tarball
  pkg=node-linux-$arch
  dir=$root/opt/doorbell/node/$pkg
  if [[ $(package_major "$dir") != "$NODE_MAJOR" ]]; then
    changes=$((changes + 1))
    if ((dry_run)); then
      log "would install npm's $pkg@$NODE_MAJOR into /opt/doorbell/node/$pkg"
    else
      log "install npm's $pkg@$NODE_MAJOR into /opt/doorbell/node/$pkg"
      rm -rf "$dir"
      mkdir -p "$dir"
      tarball=$(cd "$dir" && npm pack --silent "$pkg@$NODE_MAJOR")
      tar -xzf "$dir/$tarball" -C "$dir" --strip-components=1
      rm -f "$dir/$tarball"
    fi
  fi
  link /opt/doorbell/bin/node "/opt/doorbell/node/$pkg/bin/node"
}

# True when any of the Debian packages given is installed.
is_installed() {
  local status
  status=$(dpkg-query -W -f='${Status}\n' "$@" 2>/dev/null || true)
  [[ $status == *'install ok installed'* ]]
}

apt_packages() {
  # i2c-tools: the BH1750 light sensor is read with i2ctransfer. npm, g++, make, python3: installing the app
  # (and Node 22 where the release has no package of it); onoff's native part compiles on the Pi.
  local pkgs=(ffmpeg gpiod i2c-tools alsa-utils npm g++ make python3) missing=()
  # The Lite image ships rpicam-apps-lite; the desktop image rpicam-apps. Either one is enough.
  if ! is_installed rpicam-apps rpicam-apps-lite; then
    if apt-cache show rpicam-apps-lite >/dev/null 2>&1; then pkgs+=(rpicam-apps-lite); else pkgs+=(rpicam-apps); fi
  fi
  for p in "${pkgs[@]}"; do
    is_installed "$p" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  changes=$((changes + 1))
  run apt-get update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# Copies the built agent (package manifests, dist/agent and dist/shared) to /opt/doorbell/app, file by file, only what differs.
install_app() {
  [[ -f $app_dir/dist/agent/main.js ]] || {
    echo "install.sh: $app_dir/dist/agent/main.js is missing: run 'npm ci && npm run build' there first" >&2
    exit 1
  }
  local before=$changes f
  local -A shipped=()
  while IFS= read -r -d '' f; do
    put "/opt/doorbell/app/${f#./}" 0644 <"$app_dir/$f"
    shipped[${f#./}]=1
  done < <(cd "$app_dir" && find ./package.json ./package-lock.json ./*/package.json ./dist/agent ./dist/shared \
    -path ./node_modules -prune -o -type f ! -name '*.map' -print0 2>/dev/null)
  # An upgrade removes the modules the new version no longer has.
  if [[ -d $root/opt/doorbell/app/dist ]]; then
    while IFS= read -r -d '' f; do
      [[ -n ${shipped[${f#./}]:-} ]] || remove "/opt/doorbell/app/${f#./}"
    done < <(cd "$root/opt/doorbell/app" && find ./dist -type f -print0)
  fi
  if ((bundle)) && { ((changes > before)) || [[ ! -d $root/opt/doorbell/app/node_modules ]]; }; then
    local arch=$1 flags=()
    flags=(--cpu="$(npm_cpu "$arch")" --os=linux --libc=glibc)
    # Install scripts would build source addons (onoff's epoll, for the sysfs backend) for this machine's CPU.
    [[ $(uname -m) == "$(case $arch in arm64) echo aarch64 ;; x64) echo x86_64 ;; *) echo "$arch" ;; esac)" ]] ||
      flags+=(--ignore-scripts)
    changes=$((changes + 1))
    if ((dry_run)); then log "would run: npm ci for $arch in /opt/doorbell/app"; else
      log "npm ci --omit=dev -w agent ${flags[*]} in /opt/doorbell/app"
      npm ci --prefix "$root/opt/doorbell/app" --workspace agent --omit=dev --no-audit --no-fund "${flags[@]}" >/dev/null
    fi
  fi
  if ((live)) && { ((changes > before)) || [[ ! -d $root/opt/doorbell/app/node_modules ]]; }; then
    local headers
    headers=$(find "$root/opt/doorbell/node/node_modules/node/node_modules" -maxdepth 1 -name 'node-linux-*' 2>/dev/null | head -1 || true)
    # Native addons (onoff) compile against Node 22's headers, not those of the bootstrap npm's node.
    run env PATH="$root/opt/doorbell/bin:$PATH" ${headers:+npm_config_nodedir="$headers"} \
      npm ci --prefix "$root/opt/doorbell/app" --workspace agent --omit=dev --no-audit --no-fund
  fi
}

do_install() {
  [[ -n $config_file || -f $root/etc/doorbell/agent.yaml || (-n $device_id && -n $mqtt_url && -n $mqtt_password) ]] || {
    echo "install.sh: no agent config: pass --config FILE, or --device-id, --mqtt-url and --mqtt-password-file" >&2
    exit 2
  }
  [[ -z $config_file || -r $config_file ]] || { echo "install.sh: cannot read $config_file" >&2; exit 2; }
  local arch=''
  if ((live)); then
    apt_packages
    install_node
  elif ((bundle)); then
    arch=$(root_arch)
    bundle_node "$arch"
  fi
  install_app "$arch"

  put /etc/sysusers.d/doorbell.conf 0644 <"$SELF_DIR/doorbell.sysusers"
  run systemd-sysusers ${root:+--root="$root"} doorbell.conf
  put /etc/modules-load.d/doorbell.conf 0644 <<<'i2c-dev'

  local cfg
  cfg=$(boot_config)
  local before=$changes
  put "$cfg" - < <(without_block "$cfg"; overlays_block)
  ((changes == before)) || log "reboot needed for the I2C and 1-wire overlays in $cfg"

  # The config holds the device secret: written once, replaced only when a new one is given.
  if [[ -n $config_file || -n $device_id || ! -f $root/etc/doorbell/agent.yaml ]]; then
    put /etc/doorbell/agent.yaml 0640 < <(config_text)
  fi
  [[ -z $ca_file ]] || put /etc/doorbell/ca.pem 0644 <"$ca_file"
  local pinned
  pinned=$(awk '$1 == "caFile:" { gsub(/["'\'']/, "", $2); print $2; exit }' "$root/etc/doorbell/agent.yaml" 2>/dev/null || true)
  if [[ -n $pinned && ! -f $root$pinned ]] && ((!dry_run)); then
    log "warning: the config pins the CA $pinned, which does not exist: pass --ca FILE"
  fi
  # The group as the target system numbers it (sysusers just created it there).
  local gid
  gid=$(awk -F: '$1 == "doorbell" { print $3 }' "$root/etc/group" 2>/dev/null || true)
  if [[ -n $gid ]] && ((!dry_run)) && [[ $(stat -c %g "$root/etc/doorbell/agent.yaml") != "$gid" ]]; then
    chgrp "$gid" "$root/etc/doorbell/agent.yaml"
    changes=$((changes + 1))
  fi

  put "/etc/systemd/system/$SERVICE" 0644 < <(unit_text "$SERVICE")
  put "/etc/systemd/system/$MOUNT_UNIT" 0644 < <(unit_text "$MOUNT_UNIT")
  link "/etc/systemd/system/multi-user.target.wants/$SERVICE" "/etc/systemd/system/$SERVICE"
  if ((changes > 0)); then
    run systemctl daemon-reload
    ((no_start)) || run systemctl restart "$SERVICE"
  else
    ((no_start)) || run systemctl start "$SERVICE"
  fi
}

do_uninstall() {
  run systemctl disable --now "$SERVICE" 2>/dev/null || true
  run systemctl stop "$MOUNT_UNIT" 2>/dev/null || true
  remove "/etc/systemd/system/multi-user.target.wants/$SERVICE"
  remove "/etc/systemd/system/$SERVICE"
  remove "/etc/systemd/system/$MOUNT_UNIT"
  run systemctl daemon-reload
  local cfg
  cfg=$(boot_config)
  if [[ -f $root$cfg ]] && grep -qxF "$MARK_BEGIN" "$root$cfg"; then
    put "$cfg" - < <(without_block "$cfg")
  fi
  remove /etc/modules-load.d/doorbell.conf
  remove /etc/sysusers.d/doorbell.conf
  remove /opt/doorbell
  if ((purge)); then
    remove /etc/doorbell
    remove /var/lib/doorbell
    if ((live)) && id doorbell >/dev/null 2>&1; then run userdel doorbell || true; fi
  else
    log "kept /etc/doorbell (device secret) and /var/lib/doorbell (unsent events); --purge removes them"
  fi
}

if ((uninstall)); then do_uninstall; else do_install; fi
if ((changes == 0)); then log "nothing to change"; else log "$changes change(s)$( ((dry_run)) && echo ' (dry run)')"; fi
