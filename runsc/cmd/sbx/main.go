// Command sbx runs untrusted Linux programs in a user-space kernel sandbox.
// Called as runsc, it is an OCI runtime with runc's command line.
package main

import (
	"os"

	"sbx/runsc/cli"
	_ "sbx/runsc/prefault"
)

func main() {
	os.Exit(cli.Main(os.Args))
}
