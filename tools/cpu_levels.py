"""Print the CPU levels of the installed kernels that this machine runs, one a line.

The lowest first (``baseline``, then ``x86-64-v3`` and ``x86-64-v4`` on an
x86-64 CPU that has them).  CI runs the kernel, golden and optimizer tests
once per line with ``OPTIMIZERS_CPU_LEVEL`` set to it.  Run it as a script
(not from the source folder's root with ``-c``), so that the installed
package is the one imported.
"""
from optimizers import _kernels

if __name__ == "__main__":
    print("\n".join(lv for lv in _kernels.BUILT_LEVELS if lv in _kernels.SUPPORTED_LEVELS))
