// Command idcgate serves the Redshift Serverless Identity Center token flow
// (and the STS, SSO-OIDC and Redshift APIs around it) for the official AWS
// SDKs, and a PostgreSQL gateway that accepts its tokens.
package main

import (
	"os"

	"github.com/idcgate/idcgate/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr}))
}
