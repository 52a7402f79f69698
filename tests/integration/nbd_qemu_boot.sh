#!/usr/bin/env bash
# nbd_qemu_boot.sh - a real boot over an NBD root from pinetboot (issue #18), end to end:
# QEMU (TCG) with the iPXE NIC ROM gets its lease from `pinetboot serve --dhcp full`,
# loads Debian 12's x86_64 kernel and an initramfs this test builds (static busybox,
# Debian's nbd-client 3.24 with its libraries, the kernel's own modules) over pinetboot's
# TFTP, with the kernel arguments pinetboot wrote into the board's cmdline.txt (plus
# console=ttyS0 and panic=1). The initramfs follows them: ip=dhcp (a second lease, from
# pinetboot), nbdroot=SERVER:PORT/NAME, root=/dev/nbd0p2, rootfstype=ext4, rw; it connects
# to the board's qemu-nbd (started by `pinetboot nbd apply`, admitting the board's address
# only), mounts the partition and switch_roots into its /sbin/init. That init (a static
# busybox script put into the image's root partition) writes a marker file, mounts an
# overlayfs whose upper directory is on the NBD root (what container engines need), syncs
# and powers off. Boot 2 of the same board sees the marker; a second board (its own
# serial, MAC, address and overlay over the same in-place image) does not.
# Board C, for comparison, boots the same kernel and initramfs with an NFS root (`--root
# copy` of the image imported, exported by nfs-ganesha from `pinetboot nfs apply`, NFSv4):
# the same init runs there, and the same overlayfs mount fails, as container engines'
# overlay2 fails on an NFS root (moby/moby#32964).
# Measured per boot: wall time to the root's init, bytes the guest read from its root
# until its init ran (/sys/block/nbd0/stat; for NFS the "bytes:" line of
# /proc/self/mountstats), and the root server's read/write syscall bytes (qemu-nbd's, or
# ganesha's) until then.
#
# The guest parts are Debian packages unpacked by scripts/setup.sh into
# /opt/pinetboot-peers (never installed on this machine): linux-image, nbd-client
# (+ libnl-genl-3), busybox-static. Two lab parts are test network, not server: a bridge
# with a tap for QEMU, and a dnsmasq that only sends IPv6 router adverts (iPXE otherwise
# waits ~13 s for IPv6 autoconfiguration, testlab README section 10).
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
PINETBOOT=${PINETBOOT:?}
PEERS=/opt/pinetboot-peers
BB=$PEERS/busybox-static/bin/busybox
NBDC=$PEERS/nbd-client/sbin/nbd-client
kernels=("$PEERS"/linux-image/boot/vmlinuz-*)
VMLINUZ=${kernels[0]}
KVER=${VMLINUZ##*/vmlinuz-}
MODDIR=$PEERS/linux-image/lib/modules/$KVER
BOOT_TIMEOUT=${BOOT_TIMEOUT:-240}
for p in qemu-system-x86_64 qemu-nbd qemu-img mkfs.vfat mcopy sfdisk mke2fs gzip dnsmasq ganesha.nfsd rpcbind; do
    command -v "$p" >/dev/null || { echo "FAIL $p missing (scripts/setup.sh installs it)"; exit 1; }
done
for f in "$BB" "$NBDC" "$VMLINUZ" "$MODDIR/modules.order"; do
    [ -e "$f" ] || { echo "FAIL $f missing (scripts/setup.sh unpacks it into $PEERS)"; exit 1; }
done
[ -c /dev/net/tun ] || { echo "FAIL /dev/net/tun missing"; exit 1; }
T_START=$(date +%s)

lab_up nbdboot
S=$W/state
export PINETBOOT_STATE_DIR=$S
unset PINETBOOT_STORE_URL
in_srv() { ip netns exec "$SRV" "$@"; }
# qemu-nbd outlives the `nbd apply` that started it: stopped here before the namespaces go.
# So do nfs-ganesha (stopped by `nfs stop`, by its PID file) and its rpcbind (by PID).
stop_servers() {
    in_srv "$PINETBOOT" nbd stop >/dev/null
    [ -s "$W/rpcbind.pid" ] && { in_srv nsenter -t "$(cat "$W/rpcbind.pid")" -m "$PINETBOOT" nfs stop >/dev/null; kill "$(cat "$W/rpcbind.pid")"; }
    lab_cleanup
}
trap stop_servers EXIT
lab_qemu_tap

A=aaaa0001; B=bbbb0002; C=cccc0003
A_IP=$NET.10; B_IP=$NET.11; C_IP=$NET.12
A_MAC=52:54:00:77:00:0a; B_MAC=52:54:00:77:00:0b; C_MAC=52:54:00:77:00:0c

# ---- the root: make_pi_image's image, with a static busybox and the test's /sbin/init
X=$W/rootextra
mkdir -p "$X/pnb/bin" "$X/sbin" "$X/proc" "$X/sys" "$X/run"
cp "$BB" "$X/pnb/busybox"
for a in $("$BB" --list); do ln -s ../busybox "$X/pnb/bin/$a"; done
cat > "$X/sbin/init" <<'EOF'
#!/pnb/busybox sh
# The board's init on its NBD root: report, write the marker, try overlayfs, power off.
export PATH=/pnb/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
name= kind=
for x in $(cat /proc/cmdline); do
    case $x in nbdroot=*) name=${x##*/}; kind=nbd ;; nfsroot=*) x=${x%%,*}; name=${x##*/}; kind=nfs ;; esac
done
read -r up _ < /proc/uptime
if [ "$kind" = nbd ]; then  # (nbd0 exists on C too: the initramfs loads the module)
    set -- $(cat /sys/block/nbd0/stat)
    echo "PNB-ROOT-INIT name=$name uptime=$up root_read_bytes=$(($3 * 512)) root_read_ios=$1"
else  # NFS: the READ calls of the root's mount (mountstats per-op line "READ: ops trans
    # timeouts bytes_sent bytes_recv ...": bytes_recv is what the server sent, headers too)
    set -- $(awk '$1 == "device" { f = ($5 == "/" && $8 ~ /^nfs/) } f && $1 == "READ:" { print $2, $6; exit }' /proc/self/mountstats)
    echo "PNB-ROOT-INIT name=$name uptime=$up root_read_bytes=${2:-?} root_read_ios=${1:-?}"
fi
grep ' / ' /proc/mounts | while read -r dev mnt fs opts _; do echo "PNB-ROOT-MOUNT $dev $mnt $fs $opts"; done
if [ -f /pnb-marker ]; then
    echo "PNB-MARKER-FOUND $(cat /pnb-marker)"
else
    echo "PNB-MARKER-ABSENT"
    tok=$(cat /proc/sys/kernel/random/uuid)
    echo "$name $tok" > /pnb-marker && sync && echo "PNB-MARKER-WRITTEN $(cat /pnb-marker)"
fi
rm -rf /ovl
mkdir -p /ovl/lower /ovl/upper /ovl/work /ovl/merged
echo from-lower > /ovl/lower/l.txt
if err=$(mount -t overlay overlay -o lowerdir=/ovl/lower,upperdir=/ovl/upper,workdir=/ovl/work /ovl/merged 2>&1); then
    echo "through-overlay $name" > /ovl/merged/new.txt
    echo "PNB-OVERLAY-MOUNTED upper_fs=$(stat -f -c %T /ovl/upper) lower=$(cat /ovl/merged/l.txt) upper_file=$(cat /ovl/upper/new.txt | tr ' ' _)"
    umount /ovl/merged
else
    echo "PNB-OVERLAY-FAIL $err | $(dmesg | grep -i overlay | tail -1)"
fi
sync
mount -o remount,ro /
echo "PNB-POWEROFF"
poweroff -f
EOF
chmod 0755 "$X/sbin/init"
ROOT_EXTRA=$X bash "$HERE/lib/make_pi_image.sh" "$W/pi.img" "$W/src" mbr > "$W/make_pi_image.log" 2>&1 \
    || { bad "make_pi_image: $(tail -3 "$W/make_pi_image.log")"; finish nbd_qemu_boot; }
sum0=$(sha256sum < "$W/pi.img" | cut -d' ' -f1)
out=$("$PINETBOOT" image add "$W/pi.img" --name os --in-place 2>&1) || { bad "image add: $out"; finish nbd_qemu_boot; }
out=$("$PINETBOOT" client add --serial $A --image os --root nbd --address "$A_IP" \
      --server-ip "$SRV_IP" --nfs-backend none --no-apply 2>&1) || { bad "client add A: $out"; finish nbd_qemu_boot; }
out=$("$PINETBOOT" client add --serial $B --image os --root nbd --address "$B_IP" --no-apply 2>&1) \
    || { bad "client add B: $out"; finish nbd_qemu_boot; }
out=$(in_srv "$PINETBOOT" nbd apply 2>&1) || { bad "nbd apply: $out"; finish nbd_qemu_boot; }
echo "$out" | sed 's/^/    /'
# Board C: the same image imported, an NFS root of its own (copy), served by nfs-ganesha.
out=$("$PINETBOOT" image import "$W/pi.img" --name osnfs 2>&1) || { bad "image import: $out"; finish nbd_qemu_boot; }
out=$("$PINETBOOT" client add --serial $C --image osnfs --root copy --address "$C_IP" \
      --nfs-version 4.1 --nfs-backend ganesha --no-apply 2>&1) || { bad "client add C: $out"; finish nbd_qemu_boot; }
# rpcbind and `nfs apply` (which starts ganesha) in a private /run of the server namespace,
# as tests/integration/nfs_ganesha.sh runs them.
in_srv unshare --mount --propagation private bash -c "
    mount -t tmpfs -o mode=755 pnb-run /run || exit 1
    mkdir -p /run/rpcbind && chown _rpc /run/rpcbind
    rpcbind -f -w & echo \$! > '$W/rpcbind.pid'
    for _ in \$(seq 1 50); do [ -S /run/rpcbind.sock ] && break; sleep 0.1; done
    exec '$PINETBOOT' nfs apply --mount-unit-dir '$W/units'
" > "$W/nfs-apply.out" 2>&1 || { bad "nfs apply: $(cat "$W/nfs-apply.out")"; finish nbd_qemu_boot; }
sed 's/^/    /' "$W/nfs-apply.out"
GANESHA_PID=$(cat "$S/nfs/ganesha.pid")

# ---- the initramfs: busybox, nbd-client and its libraries, the modules, /init
I=$W/initramfs
mkdir -p "$I/bin" "$I/sbin" "$I/lib/modules" "$I/lib/x86_64-linux-gnu" "$I/lib64" "$I/dev" \
    "$I/proc" "$I/sys" "$I/newroot"
cp "$BB" "$I/bin/busybox"
for a in $("$BB" --list); do [ "$a" = busybox ] || ln -s busybox "$I/bin/$a"; done
cp "$NBDC" "$I/sbin/nbd-client"
# Its libraries as the host's loader resolves them (libnl-genl-3 from the unpacked package).
libs=$(LD_LIBRARY_PATH=$PEERS/nbd-client/lib/x86_64-linux-gnu ldd "$NBDC") || { bad "ldd nbd-client: $libs"; finish nbd_qemu_boot; }
grep <<<"$libs" -q "not found" && { bad "nbd-client libraries: $libs"; finish nbd_qemu_boot; }
while read -r soname arrow path _; do
    if [ "$arrow" = "=>" ] && [ -f "$path" ]; then
        cp -L "$path" "$I/lib/x86_64-linux-gnu/$soname"
    elif [ "${soname#/}" != "$soname" ] && [ -f "$soname" ]; then  # the loader itself
        cp -L "$soname" "$I$soname"
    fi
done <<<"$libs"
[ -f "$I/lib64/ld-linux-x86-64.so.2" ] || { bad "no loader in ldd's output: $libs"; finish nbd_qemu_boot; }
# The modules (with their dependencies first, from the .ko files' modinfo: the unpacked
# kernel has no modules.dep) and their parameters: partitions on nbd devices.
declare -A MODPATH=() MODDONE=()
while read -r rel; do m=${rel##*/}; m=${m%.ko}; MODPATH[$m]=$rel; done < "$MODDIR/modules.order"
: > "$I/modules.list"
add_module() {  # NAME [PARAMS]: appends NAME after its dependencies
    local m=${1//-/_} params=${2:-} deps d
    [ -n "${MODDONE[$m]:-}" ] && return 0
    [ -n "${MODPATH[$m]:-}" ] || { bad "kernel module $m not in $MODDIR"; return 1; }
    deps=$(tr '\0' '\n' < "$MODDIR/${MODPATH[$m]}" | sed -n 's/^depends=//p' | head -1)
    for d in ${deps//,/ }; do add_module "$d" || return 1; done
    cp "$MODDIR/${MODPATH[$m]}" "$I/lib/modules/$m.ko"
    echo "$m $params" >> "$I/modules.list"
    MODDONE[$m]=1
}
# virtio-net is the QEMU NIC; crc32c is ext4's checksum (a soft dependency, not in depends=).
# nfsv4 for board C's NFS root.
for m in virtio_pci virtio_net "nbd max_part=8" crc32c_generic ext4 overlay nfsv4; do
    add_module $m || finish nbd_qemu_boot
done
cat > "$I/udhcpc.sh" <<'EOF'
#!/bin/sh
case $1 in
    bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/$mask" dev "$interface"
                 [ -n "$router" ] && ip route add default via "${router%% *}" ;;
esac
exit 0
EOF
cat > "$I/init" <<'EOF'
#!/bin/sh
# The test's initramfs: the board's root as pinetboot's cmdline.txt describes it.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say() { echo "PNB-INITRAMFS $*"; }
fail() { echo "PNB-INITRAMFS-FAIL $*"; cat /proc/partitions; dmesg | tail -15; poweroff -f; }
read -r up _ < /proc/uptime
say "started uptime=$up"
while read -r m params; do insmod "/lib/modules/$m.ko" $params || fail "insmod $m"; done < /modules.list
root=; nbdroot=; ipconf=; fstype=ext4; mode=rw; rinit=/sbin/init
for x in $(cat /proc/cmdline); do
    case $x in
        root=*) root=${x#root=} ;;
        nbdroot=*) nbdroot=${x#nbdroot=} ;;
        ip=*) ipconf=${x#ip=} ;;
        rootfstype=*) fstype=${x#rootfstype=} ;;
        init=*) rinit=${x#init=} ;;
        rw|ro) mode=$x ;;
    esac
done
nfsroot=
for x in $(cat /proc/cmdline); do case $x in nfsroot=*) nfsroot=${x#nfsroot=} ;; esac; done
if [ "$root" = /dev/nfs ]; then
    # nfsroot=SERVER:PATH,OPTIONS (the kernel's nfsroot.txt form, as pinetboot writes it)
    spec=${nfsroot%%,*}; nfsopts=${nfsroot#"$spec"}; nfsopts=${nfsopts#,}; srv=${spec%%:*}
    [ -n "$srv" ] && [ "${spec#*:/}" != "$spec" ] || fail "cmdline: root=$root nfsroot=$nfsroot"
    say "root=$root nfsroot=$spec opts=$nfsopts ip=$ipconf $mode"
else
    # nbdroot=SERVER:PORT/NAME (the form Debian's nbd-client hook reads as ipv4:port/path)
    srv=${nbdroot%%[:/]*}; rest=${nbdroot#"$srv"}; rest=${rest#:}; port=${rest%%/*}; name=${rest#"$port"/}
    dev=${root%p[0-9]*}
    [ -n "$srv" ] && [ -n "$port" ] && [ -n "$name" ] && [ "${dev#/dev/nbd}" != "$dev" ] \
        || fail "cmdline: root=$root nbdroot=$nbdroot"
    say "root=$root nbdroot=$srv:$port/$name ip=$ipconf rootfstype=$fstype $mode"
fi
ip link set lo up
ip link set eth0 up || fail "no eth0"
case $ipconf in
    dhcp|on|any) udhcpc -i eth0 -f -q -n -t 10 -T 2 -s /udhcpc.sh || fail "no DHCP lease" ;;
    *) fail "ip=$ipconf: this initramfs knows ip=dhcp only" ;;
esac
say "lease $(ip -4 -o addr show dev eth0 | awk '{print $4}') uptime=$(cut -d' ' -f1 /proc/uptime)"
if [ "$root" = /dev/nfs ]; then
    # busybox mount does its own RPC for -t nfs (v2/v3); nfs4 goes to the kernel, which
    # wants the server's and its own address as mount.nfs would give them.
    me=$(ip -4 -o addr show dev eth0 | awk '{split($4, a, "/"); print a[1]}')
    v=4; case $nfsopts in *vers=4.1*) v=4.1 ;; *vers=4.2*) v=4.2 ;; esac
    mount -t nfs4 -o "vers=$v,proto=tcp,addr=$srv,clientaddr=$me,$mode" "$spec" /newroot \
        || fail "mount -t nfs4 $spec (vers=$v)"
    say "mounted $spec uptime=$(cut -d' ' -f1 /proc/uptime)"
    umount /proc /sys
    mount --move /dev /newroot/dev
    exec switch_root /newroot "$rinit"
fi
LD_LIBRARY_PATH=/lib/x86_64-linux-gnu /sbin/nbd-client "$srv" "$port" "$dev" -N "$name" \
    || fail "nbd-client $srv $port $dev -N $name"
say "connected $dev uptime=$(cut -d' ' -f1 /proc/uptime)"
# The kernel reads the partition table at the device's next open (udev's probe, on a
# board's own initramfs); this one has no udev, so it opens the device itself.
[ "$root" = "$dev" ] || blockdev --rereadpt "$dev" || fail "blockdev --rereadpt $dev"
i=0
while [ ! -b "$root" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -b "$root" ] || fail "$root did not appear"
mount -t "$fstype" -o "$mode" "$root" /newroot || fail "mount $root"
say "mounted $root uptime=$(cut -d' ' -f1 /proc/uptime)"
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot "$rinit"
EOF
chmod 0755 "$I/init" "$I/udhcpc.sh"
mkdir -p "$W/tftp"
(cd "$I" && find . | "$BB" cpio -o -H newc 2> "$W/cpio.log" | gzip -6 > "$W/tftp/initrd.gz") \
    || { bad "cpio: $(cat "$W/cpio.log")"; finish nbd_qemu_boot; }
cp "$VMLINUZ" "$W/tftp/vmlinuz"
echo "    initramfs: $(stat -c %s "$W/tftp/initrd.gz") bytes (modules: $(cut -d' ' -f1 "$I/modules.list" | tr '\n' ' ')); kernel $KVER: $(stat -c %s "$W/tftp/vmlinuz") bytes"

# ---- iPXE: one script per MAC, the kernel arguments from the board's cmdline.txt
cat > "$W/tftp/boot.ipxe" <<'EOF'
#!ipxe
echo PNB-IPXE ${net0/mac} ${ip} from ${next-server}
chain tftp://${next-server}/${net0/mac:hexhyp}.ipxe || echo PNB-IPXE-FAIL chain
EOF
for b in "$A $A_MAC" "$B $B_MAC" "$C $C_MAC"; do
    set -- $b
    cmdline=$(cat "$S/tftp/$1/cmdline.txt")
    # console=ttyS0: the serial log; panic=1: a panic ends the run at once (QEMU -no-reboot).
    printf '#!ipxe\nkernel tftp://${next-server}/vmlinuz %s console=ttyS0 panic=1 || echo PNB-IPXE-FAIL kernel\ninitrd tftp://${next-server}/initrd.gz || echo PNB-IPXE-FAIL initrd\nboot || echo PNB-IPXE-FAIL boot\n' \
        "$cmdline" > "$W/tftp/${2//:/-}.ipxe"
done
grep -q "root=/dev/nbd0p2 nbdroot=$SRV_IP:$(cat "$S/roots/$A/port")/$A rootfstype=ext4 ip=dhcp rw" "$W/tftp/${A_MAC//:/-}.ipxe" \
    && ok "A's kernel arguments are pinetboot's: $(cat "$S/tftp/$A/cmdline.txt")" || bad "A's cmdline: $(cat "$S/tftp/$A/cmdline.txt")"
chmod -R a+rX "$W"

lab_bg "$SRV" "$W/serve.log" "$PINETBOOT" serve --interface s0 --root "$W/tftp" --dhcp full \
    --range "$NET.100,$NET.120" --lease-db "$W/leases.sqlite" --pxe-bootfile boot.ipxe \
    --reserve "$A_MAC=$A_IP" --reserve "$B_MAC=$B_IP" --reserve "$C_MAC=$C_IP"
SERVE_PID=$LAST_PID
wait_for "$W/serve.log" "serve: ready" 15 || { bad "serve start: $(tail -3 "$W/serve.log")"; finish nbd_qemu_boot; }
ip -n "$CLI" -6 addr add fd77::2/64 dev br0 nodad
lab_bg "$CLI" "$W/ra.log" dnsmasq --keep-in-foreground --port=0 --interface=br0 --bind-interfaces \
    --enable-ra --dhcp-range=fd77::,ra-only --ra-param=br0,10,0 --pid-file= --log-facility=/dev/null

# io_of PID FIELD: a counter of /proc/PID/io (rchar, wchar)
io_of() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/io"; }
# boot TAG SERIAL MAC [SERVER_PID]: one power-on to power-off; sets LOG, BOOT_RESULT,
# BOOT_SECS, INIT_SECS, NBD_RCHAR, NBD_WCHAR (the root server's: the board's qemu-nbd
# unless SERVER_PID is given)
boot() {
    local tag=$1 serial=$2 mac=$3 qpid npid r0 w0 t0 now
    LOG=$W/serial-$tag.log
    npid=${4:-$(cat "$S/nbd/$serial.pid")}
    r0=$(io_of "$npid" rchar); w0=$(io_of "$npid" wchar)
    t0=$(date +%s.%N)
    # TCG, as in dhcp_qemu_ipxe.sh: KVM on nested hosts dies in iPXE's ROM.
    lab_bg "$CLI" "$W/qemu-$tag.out" qemu-system-x86_64 -machine pc,accel=tcg -m 512 -nographic \
        -monitor none -no-reboot -serial "file:$LOG" \
        -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
        -device virtio-net-pci,netdev=n0,mac="$mac" -boot n
    qpid=$LAST_PID
    BOOT_RESULT=timeout INIT_SECS=- NBD_RCHAR=- NBD_WCHAR=-
    while :; do
        now=$(date +%s.%N)
        if [ "$INIT_SECS" = - ] && grep -q "PNB-ROOT-INIT" "$LOG" 2>/dev/null; then
            INIT_SECS=$(echo "$now - $t0" | bc)
            NBD_RCHAR=$(( $(io_of "$npid" rchar) - r0 )); NBD_WCHAR=$(( $(io_of "$npid" wchar) - w0 ))
        fi
        grep -qE "PNB-(INITRAMFS|IPXE)-FAIL" "$LOG" 2>/dev/null && BOOT_RESULT=failed
        kill -0 "$qpid" 2>/dev/null || { [ $BOOT_RESULT = timeout ] && BOOT_RESULT=exited; break; }
        [ "$(echo "$now - $t0 > $BOOT_TIMEOUT" | bc)" = 1 ] && break
        sleep 0.2
    done
    BOOT_SECS=$(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)")
    [ "$INIT_SECS" != - ] && INIT_SECS=$(printf '%.1f' "$INIT_SECS")
    lab_kill "$qpid"
    tr -d '\r' < "$LOG" | sed 's/\x1b\[[0-9;]*[a-zA-Z]//g' | grep -E "^(iPXE|net0:|PNB|Kernel panic)" | sed "s/^/    [$tag] /"
    grep -q PNB-POWEROFF "$LOG" && [ $BOOT_RESULT = exited ] && BOOT_RESULT=poweroff
    local rd
    rd=$(sed -n 's/.*PNB-ROOT-INIT .*root_read_bytes=\([0-9]*\).*/\1/p' "$LOG" | tr -d '\r')
    ROOT_READ=${rd:-?}
    echo "    [$tag] power-on to init ${INIT_SECS}s, to power-off ${BOOT_SECS}s ($BOOT_RESULT); guest read $ROOT_READ bytes from its root before init; root server's syscalls until init: read $NBD_RCHAR, written $NBD_WCHAR bytes"
}
serial_has() { grep <<<"$(tr -d '\r' < "$LOG")" -qE "$1"; }
check_lease() {  # TAG IP
    serial_has "^PNB-INITRAMFS lease $2/24 " && ok "$1: the kernel's DHCP lease from pinetboot is the board's address $2" \
        || bad "$1: initramfs lease: $(grep -a 'PNB-INITRAMFS' "$LOG" | tr -d '\r' | tail -2)"
}
check_common() {  # TAG SERIAL IP
    check_lease "$1" "$3"
    serial_has "^PNB-ROOT-INIT name=$2 " && serial_has "^PNB-ROOT-MOUNT /dev/nbd0p2 / ext4 rw" \
        && ok "$1: /sbin/init ran on /dev/nbd0p2 (ext4, rw) from $2's export" \
        || bad "$1: root init: $(grep -a -E 'PNB-(ROOT|INITRAMFS)' "$LOG" | tr -d '\r' | tail -3)"
    serial_has "^PNB-OVERLAY-MOUNTED upper_fs=ext2/ext3 lower=from-lower upper_file=through-overlay_$2$" \
        && ok "$1: overlayfs with its upper dir on the NBD root mounts; a file written through it is in the upper dir" \
        || bad "$1: overlayfs: $(grep -a PNB-OVERLAY "$LOG" | tr -d '\r')"
    [ "$BOOT_RESULT" = poweroff ] && ok "$1: powered off by its init after ${BOOT_SECS}s" \
        || bad "$1: $BOOT_RESULT after ${BOOT_SECS}s"
}

boot a1 $A $A_MAC
check_common "boot 1 of A" $A "$A_IP"
token=$(tr -d '\r' < "$LOG" | sed -n "s/^PNB-MARKER-WRITTEN $A \(.*\)$/\1/p")
serial_has "^PNB-MARKER-ABSENT" && [ -n "$token" ] && ok "boot 1 of A: no marker yet; init wrote /pnb-marker ($token)" \
    || bad "boot 1 of A: marker: $(grep -a PNB-MARKER "$LOG" | tr -d '\r')"

boot a2 $A $A_MAC
check_common "boot 2 of A" $A "$A_IP"
[ -n "$token" ] && serial_has "^PNB-MARKER-FOUND $A $token$" && ok "boot 2 of A: sees the marker boot 1 wrote" \
    || bad "boot 2 of A: marker: $(grep -a PNB-MARKER "$LOG" | tr -d '\r')"

boot b1 $B $B_MAC
check_common "boot 1 of B" $B "$B_IP"
serial_has "^PNB-MARKER-ABSENT" && ! serial_has "PNB-MARKER-FOUND" && ok "board B does not see A's marker" \
    || bad "board B: marker: $(grep -a PNB-MARKER "$LOG" | tr -d '\r')"

# Board C: the same kernel, initramfs and init with an NFS root.
grep -q "root=/dev/nfs nfsroot=$SRV_IP:$S/roots/$C,vers=4.1,tcp" "$W/tftp/${C_MAC//:/-}.ipxe" \
    && ok "C's kernel arguments are pinetboot's: $(cat "$S/tftp/$C/cmdline.txt")" || bad "C's cmdline: $(cat "$S/tftp/$C/cmdline.txt")"
boot c1 $C $C_MAC "$GANESHA_PID"
check_lease "boot 1 of C (NFS root)" "$C_IP"
serial_has "^PNB-ROOT-INIT name=$C " && serial_has "^PNB-ROOT-MOUNT $SRV_IP:$S/roots/$C / nfs4 rw" \
    && ok "boot 1 of C: /sbin/init ran on its NFS root from ganesha" \
    || bad "boot 1 of C: root init: $(grep -a -E 'PNB-(ROOT|INITRAMFS)' "$LOG" | tr -d '\r' | tail -3)"
serial_has "^PNB-MARKER-WRITTEN $C " && ok "boot 1 of C: init wrote its marker on the NFS root" \
    || bad "boot 1 of C: marker: $(grep -a PNB-MARKER "$LOG" | tr -d '\r')"
serial_has "^PNB-OVERLAY-FAIL " && ! serial_has "^PNB-OVERLAY-MOUNTED" \
    && ok "boot 1 of C: the same overlayfs mount fails with its upper dir on the NFS root: $(grep -a PNB-OVERLAY-FAIL "$LOG" | tr -d '\r' | cut -c18-)" \
    || bad "boot 1 of C: overlayfs on NFS: $(grep -a PNB-OVERLAY "$LOG" | tr -d '\r')"
[ "$BOOT_RESULT" = poweroff ] && ok "boot 1 of C: powered off by its init after ${BOOT_SECS}s" \
    || bad "boot 1 of C: $BOOT_RESULT after ${BOOT_SECS}s"

lab_kill "$SERVE_PID"
grep -qE "dhcp_sent_ACK [1-9]" "$W/serve.log" && ok "DHCP: pinetboot sent $(grep -oE 'dhcp_sent_ACK [0-9]+' "$W/serve.log" | tail -1)" \
    || bad "no ACK counted: $(grep dhcp_ "$W/serve.log" | tail -3)"
in_srv "$PINETBOOT" nbd stop >/dev/null || bad "nbd stop"
[ "$(sha256sum < "$W/pi.img" | cut -d' ' -f1)" = "$sum0" ] && ok "the in-place image is unchanged after three boots that wrote" \
    || bad "the image changed"
echo "    wall time $(( $(date +%s) - T_START )) s"
finish nbd_qemu_boot
