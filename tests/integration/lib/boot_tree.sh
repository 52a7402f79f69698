# boot_tree.sh - sourced: make_boot_tree DIR SERIAL [pi4|cm4|pi5] writes the files a board
# fetches (spec §4.3/§4.4) under DIR/SERIAL/ with random contents of plausible sizes.
make_boot_tree() {
    local dir=$1 serial=$2 model=${3:-pi4} d="$1/$2"
    mkdir -p "$d/overlays"
    echo "arm_64bit=1" > "$d/config.txt"
    echo "console=serial0,115200 root=/dev/nfs ip=dhcp" > "$d/cmdline.txt"
    head -c 20000 /dev/urandom > "$d/overlays/overlay_map.dtb"
    if [ "$model" = pi5 ]; then
        head -c 80000 /dev/urandom > "$d/bcm2712-rpi-5-b.dtb"
        head -c 1500000 /dev/urandom > "$d/kernel_2712.img"
    else
        head -c 2300000 /dev/urandom > "$d/start4.elf"
        head -c 5400 /dev/urandom > "$d/fixup4.dat"
        head -c 55000 /dev/urandom > "$d/bcm2711-rpi-4-b.dtb"
        head -c 55000 /dev/urandom > "$d/bcm2711-rpi-cm4.dtb"
        head -c 1500000 /dev/urandom > "$d/kernel8.img"
    fi
    chmod -R a+rX "$dir"
}
