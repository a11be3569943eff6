"""What the Python sides of the benchmarks measure about their own process (the same as
bench/peers/process_stats.h): resident bytes now and at peak."""
import os


def resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_resident_bytes():
    """VmHWM, the process's own peak; ru_maxrss would carry the driver's peak over exec."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0
