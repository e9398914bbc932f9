package fetch

import (
	"context"
	"errors"
	"fmt"

	"github.com/mailport/mailport/pkg/graph"
	"github.com/mailport/mailport/pkg/mail"
)

// folderChecker is an Inbound that can tell whether a folder exists
// without opening it (*imap.Client).
type folderChecker interface {
	CheckFolder(ctx context.Context, path string) error
}

// checkMoveTo makes sure the --move-to folder exists before anything is
// fetched: otherwise every message would be stored, then fail to move,
// and wait for the next run, on every run.
func (r *runner) checkMoveTo(ctx context.Context) error {
	if r.opts.Action != Move {
		return nil
	}
	dest := r.opts.MoveTo
	if dest == "" {
		return errors.New("moving messages needs a destination folder (--move-to)")
	}
	var err error
	switch in := r.in.(type) {
	case *graph.Client:
		_, err = in.ResolveFolder(ctx, dest)
	case folderChecker:
		err = in.CheckFolder(ctx, dest)
	default:
		return nil // the move itself will say
	}
	var nf *mail.FolderNotFoundError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &nf):
		missing := ""
		if nf.Missing != "" && nf.Missing != nf.Path {
			missing = fmt.Sprintf(" (it has no %q)", nf.Missing)
		}
		return fmt.Errorf("the --move-to folder %q does not exist on the server%s; create it or name an existing folder; nothing was fetched", dest, missing)
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return fmt.Errorf("check the --move-to folder %q: %w; nothing was fetched", dest, err)
}
