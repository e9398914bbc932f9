package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/mail"
)

// folderCheckTimeout bounds the whole best-effort folder check of
// account add/edit, and folderStepTimeout each network step in it: an
// account is saved whether or not its server answers.
const (
	folderCheckTimeout = 10 * time.Second
	folderStepTimeout  = 4 * time.Second
)

// warnMissingFolder opens the folder an account was just given when the
// server can be reached and the account logs in without asking anything
// (a stored password or token), and warns when the folder does not exist,
// naming the nearest existing ones. Everything else (no secret yet, an
// unreachable server, a refused login) is left to `mailport test`: the
// check stays silent and never blocks the command.
func warnMissingFolder(ctx context.Context, f *cmdutil.Factory, name string, a *config.Account, folder string) {
	if folder == "" || a.Type != config.Inbound || a.Protocol == config.POP3 || strings.EqualFold(folder, "INBOX") {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, folderCheckTimeout)
	defer cancel()
	op, err := f.Opener(folderStepTimeout)
	if err != nil {
		return
	}
	in, err := op.Inbound(ctx, name)
	if err != nil {
		return
	}
	defer in.Close()
	_, err = in.Open(ctx, folder)
	var nf *mail.FolderNotFoundError
	if errors.As(err, &nf) {
		fmt.Fprintf(f.IO.ErrOut, "warning: account %s: %s (the account is saved; change it with `mailport account edit %s --folder PATH`, see `mailport folders %s`)\n",
			name, nf.Error(), name, name)
	}
}
