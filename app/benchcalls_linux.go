package app

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel stop cmd when the benchmark process dies
// without stopping it (killed), so no fake or service is left holding the
// benchmark's ports.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
