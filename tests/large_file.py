"""A 4 GB tensor through the command-line tool: compress, verify, decompress, compare, with the
peak resident memory of each step (from the kernel's rusage of the child). Prints the figures and
fails if a round trip differs or a step's peak memory reaches the input's size.

    python3 tests/large_file.py path/to/saraphis WORKDIR [--gib 4]
"""
import os
import resource
import subprocess
import sys
import time


def make_input(path, size):
    # BF16-like data: random low bytes, a narrow band of high bytes (like trained weights), made
    # from a 64 MiB block rotated per block so no two blocks are identical.
    block = bytearray(os.urandom(64 << 20))
    block[1::2] = bytes(0x3C + (b & 3) for b in block[1::2])
    with open(path, "wb") as out:
        written = 0
        rotation = 0
        while written < size:
            rotated = block[rotation:] + block[:rotation]
            chunk = rotated[: min(len(rotated), size - written)]
            out.write(chunk)
            written += len(chunk)
            rotation = (rotation + 2 * 4099) % len(block)


def run(label, argv):
    """Runs one step and returns (seconds, peak RSS in KiB) of that child alone (wait4)."""
    started = time.time()
    child = subprocess.Popen(argv)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.time() - started
    if child.returncode != 0:
        print(f"{label}: FAILED with exit {child.returncode}")
        sys.exit(1)
    return elapsed, usage.ru_maxrss


def main():
    tool, work = sys.argv[1], sys.argv[2]
    gib = float(sys.argv[sys.argv.index("--gib") + 1]) if "--gib" in sys.argv else 4.0
    size = int(gib * (1 << 30)) // 8 * 8
    source = os.path.join(work, "big.bin")
    packed = os.path.join(work, "big.sps")
    restored = os.path.join(work, "big.out")
    # Generated in a separate process: a child forked from a parent holding big buffers would be
    # charged their pages in its peak RSS.
    subprocess.run([sys.executable, __file__, "--make-input", source, str(size)], check=True)
    results = []
    for label, argv in (
        ("compress", [tool, "compress", "-q", "--dtype", "BF16", source, "-o", packed]),
        ("verify", [tool, "verify", "-q", packed]),
        ("decompress", [tool, "decompress", "-q", packed, "-o", restored]),
    ):
        elapsed, peak = run(label, argv)
        results.append((label, elapsed, peak))
    same = subprocess.run(["cmp", source, restored]).returncode == 0
    compressed = os.path.getsize(packed)
    print(f"input {size / 1e9:.2f} GB, compressed {compressed / 1e9:.2f} GB (ratio {size / compressed:.4f})")
    worst = 0
    for label, elapsed, peak in results:
        print(f"{label:10s} {elapsed:7.1f} s  {size / elapsed / 1e6:8.1f} MB/s  peak RSS {peak / 1024:8.1f} MiB")
        worst = max(worst, peak * 1024)
    print(f"round trip identical: {same}; peak memory / input size = {worst / size:.4f}")
    if not same or worst >= size:
        sys.exit(1)


if __name__ == "__main__":
    if sys.argv[1] == "--make-input":
        make_input(sys.argv[2], int(sys.argv[3]))
    else:
        main()
