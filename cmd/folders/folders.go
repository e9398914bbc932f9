// Package folders holds `mailport folders`: the folder tree of an inbound
// account, as the paths --folder takes, with counts and special use.
package folders

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/account"
	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/oauth"
)

// DefaultTimeout bounds each network step of the listing.
const DefaultTimeout = 30 * time.Second

// Options are the inputs of `mailport folders`.
type Options struct {
	F       *cmdutil.Factory
	Account string
	Hidden  bool
	Timeout time.Duration
}

// Result is the documented JSON shape of `mailport folders --json`.
type Result struct {
	Account  string            `json:"account"`
	Protocol string            `json:"protocol"`
	Folders  []mail.FolderInfo `json:"folders"`
}

// NewCmdFolders is `mailport folders`.
func NewCmdFolders(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "folders ACCOUNT",
		Short: "List the folders of an inbound account, with counts and special use",
		Long: `List the folders of an inbound account as the paths --folder takes (levels separated by
"/" whatever the server uses, e.g. INBOX/Endpoint or Inbox/Endpoint), with the number of
messages and unread messages and the folder's special use: Inbox, Sent, Drafts, Trash, Junk
or Archive (IMAP SPECIAL-USE attributes; Microsoft Graph's well-known folders).

IMAP: LIST with the counts of STATUS (in one command when the server offers LIST-STATUS).
Microsoft Graph: mailFolders and their childFolders; folders Exchange hides from mail clients
only with --hidden. POP3 has one mailbox, INBOX, and no unread count.

On a terminal the output is a table PATH, MESSAGES, UNREAD, USE ("-" for a count the server
did not give); piped, it is tab-separated without the header.

JSON (--json): {"account","protocol","folders":[{"path","messages","unread","use",
"selectable"}]}; messages and unread are left out when the server did not give them, use is
one of inbox, sent, drafts, trash, junk, archive or "", selectable is false for a level that
only holds other folders.

Exit status: 0 listed, 1 the server could not be reached or refused the listing, 2 an unknown
or outbound account, 3 authentication required.`,
		Example: `  mailport folders support
  mailport folders support --json | jq -r '.folders[] | select(.use=="sent") | .path'
  mailport folders ms365 --hidden
  mailport fetch support --folder "$(mailport folders support | cut -f1 | grep -i endpoint)"`,
		Args: cmdutil.ExactArgs(1, "an ACCOUNT name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Account = args[0]
			if opts.Timeout <= 0 {
				return cmdutil.FlagErrorf("--timeout must be positive, e.g. 10s")
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd, opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.Hidden, "hidden", false, "Microsoft Graph: include folders Exchange hides from mail clients")
	fl.DurationVar(&opts.Timeout, "timeout", DefaultTimeout, "bound each network step")
	return cmd
}

func run(cmd *cobra.Command, opts *Options) error {
	f := opts.F
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	a, err := account.LookupFor(cfg, opts.Account, "folders", config.Inbound, false)
	if err != nil {
		return err
	}
	op, err := f.Opener(opts.Timeout)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	in, err := op.Inbound(ctx, opts.Account)
	if err != nil {
		if oauth.IsAuthRequired(err) {
			return err
		}
		err = fmt.Errorf("folders %s: connect to %s: %w (run `mailport test %s` for the cause and the fix)", opts.Account, connect.Describe(a), err, opts.Account)
		if connect.IsAuthFailure(err) {
			return &cmdutil.AuthRequiredError{Err: err}
		}
		return err
	}
	defer in.Close()
	fl, ok := in.(mail.FolderLister)
	if !ok {
		return fmt.Errorf("folders %s: protocol %s cannot list folders", opts.Account, a.Protocol)
	}
	list, err := fl.Folders(ctx, mail.FolderOptions{Hidden: opts.Hidden})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("folders %s: %w", opts.Account, err)
	}
	if list == nil {
		list = []mail.FolderInfo{}
	}
	if f.JSON {
		return cmdutil.PrintJSON(f.IO.Out, Result{Account: opts.Account, Protocol: a.Protocol, Folders: list})
	}
	t := cmdutil.NewTable(f.IO.Out, f.IO.IsStdoutTTY(), "PATH", "MESSAGES", "UNREAD", "USE")
	for _, fi := range list {
		t.Row(fi.Path, count(fi.Messages), count(fi.Unread), useWord(fi.Use))
	}
	return t.Render()
}

func count(n *int) string {
	if n == nil {
		return "-"
	}
	return strconv.Itoa(*n)
}

// useWord is the USE column: the special use capitalised, "" for none.
func useWord(u string) string {
	switch u {
	case "":
		return ""
	case mail.UseInbox:
		return "Inbox"
	case mail.UseSent:
		return "Sent"
	case mail.UseDrafts:
		return "Drafts"
	case mail.UseTrash:
		return "Trash"
	case mail.UseJunk:
		return "Junk"
	case mail.UseArchive:
		return "Archive"
	}
	return u
}
