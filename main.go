// Command mailport sets up mail accounts (OAuth2 or passwords; IMAP, POP3,
// SMTP, Microsoft Graph) and runs one-shot mail operations on them.
package main

import (
	"os"

	"github.com/mailport/mailport/cmd"
)

func main() {
	os.Exit(cmd.Execute())
}
