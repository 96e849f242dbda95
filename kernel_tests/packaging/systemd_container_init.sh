#!/usr/bin/env bash
# PID 1 of the namespaces systemd_quickstart_test.sh makes (private PID, mount,
# UTS, IPC, network and cgroup namespaces): builds a root that looks like this
# machine but keeps every write, and then execs systemd on it.
#
#   - / is an overlay: this machine's root file system below, a tmpfs above, so
#     that packages installed, /etc edited and state written stay in memory and
#     go with the namespace;
#   - /proc is this PID namespace's, /proc/sys read-only (no sysctl reaches the
#     host); /sys is read-only (so udev, which would trigger the host's devices,
#     does not start); /sys/fs/cgroup is the cgroup namespace's cgroup2, the
#     sub-cgroup the test made; /sys/fs/bpf a bpffs of its own (the agent's pins
#     go with it); /dev a tmpfs with the harmless nodes; /run and /tmp tmpfs;
#   - units that touch the kernel or the hardware for the whole machine
#     (modules, sysctl, binfmt, clock, udev, audit) are masked, and the bounding
#     set loses CAP_SYS_MODULE, CAP_SYS_TIME, CAP_SYS_RAWIO and the like, so that
#     what the masks miss fails; /etc/fstab is empty;
#   - systemd boots basic.target (not the host's multi-user.target and the
#     services enabled there) with container=rampart-test; its own messages go
#     to standard error (the caller's log).
#
#   - the source and build trees are bound in at their own paths: the overlay
#     shows only the root file system, not the mounts below it, and /tmp is
#     fresh here (a clone under /tmp would otherwise vanish);
#
#   systemd_container_init.sh WORK_DIR SOURCE_DIR BUILD_DIR
set -euo pipefail
work=$1 src=$2 build=$3
r=$work/root
mount -t tmpfs -o mode=0755 tmpfs "$work/layers"
mkdir "$work/layers/upper" "$work/layers/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/layers/upper,workdir=$work/layers/work" "$r"

mount -t proc -o nosuid,nodev,noexec proc "$r/proc"
ro_bind() { mount --bind "$1" "$1" && mount -o remount,bind,ro "$1"; }
ro_bind "$r/proc/sys"
[[ ! -e $r/proc/sysrq-trigger ]] || ro_bind "$r/proc/sysrq-trigger"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$r/sys"
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$r/sys/fs/cgroup"
mount -t bpf -o mode=0700 bpf "$r/sys/fs/bpf"

mount -t tmpfs -o mode=0755,nosuid tmpfs "$r/dev"
for node in null zero full random urandom tty; do
  : >"$r/dev/$node"
  mount --bind "/dev/$node" "$r/dev/$node"
done
mkdir "$r/dev/pts" "$r/dev/shm" "$r/dev/mqueue"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$r/dev/pts"
ln -s pts/ptmx "$r/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$r/dev/shm"
ln -s /proc/self/fd "$r/dev/fd"
for i in 0 1 2; do ln -s "/proc/self/fd/$i" "$r/dev/$(cut -d' ' -f$((i + 1)) <<<"stdin stdout stderr")"; done
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$r/run"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$r/tmp"
for tree in "$src" "$build"; do
  mkdir -p "$r$tree"
  mount --rbind "$tree" "$r$tree"
done

: >"$r/etc/fstab"
for unit in systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service \
  systemd-udevd-control.socket systemd-udevd-kernel.socket systemd-hwdb-update.service \
  systemd-modules-load.service kmod-static-nodes.service systemd-sysctl.service \
  systemd-binfmt.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount \
  systemd-timesyncd.service systemd-time-wait-sync.service systemd-pstore.service \
  systemd-journald-audit.socket systemd-random-seed.service systemd-remount-fs.service \
  sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount sys-fs-fuse-connections.mount \
  dev-hugepages.mount timers.target getty.target console-getty.service; do
  ln -sf /dev/null "$r/etc/systemd/system/$unit"
done
hostname rampart-systemd-test

cd "$r"
mkdir .oldroot
pivot_root . .oldroot
umount -l /.oldroot
rmdir /.oldroot
exec env -i container=rampart-test PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  setpriv --bounding-set -sys_module,-sys_time,-sys_rawio,-wake_alarm,-syslog,-audit_control,-audit_read,-mac_admin,-mac_override \
  /lib/systemd/systemd --unit=basic.target --log-target=console
