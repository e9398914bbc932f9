package graph_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mailport/mailport/pkg/graph"
	"github.com/mailport/mailport/pkg/mail"
)

func asGraph(err error, target **graph.Error) bool { return errors.As(err, target) }

// Fetching the unread messages of a shared mailbox's subfolder.
func Example() {
	ctx := context.Background()
	var token mail.TokenFunc // from the account's OAuth2 token source
	c, err := graph.New(graph.Options{
		Login:     "support@example.com", // the mailbox
		TokenUser: "alice@example.com",   // who signed in: requests go to /users/support@example.com
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	if err := c.Authenticate(ctx, mail.Credentials{Kind: mail.AuthOAuth2, Token: token}); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := c.Open(ctx, "Inbox/Endpoint"); err != nil {
		fmt.Println(err) // a *mail.FolderNotFoundError names the missing part
		return
	}
	msgs, err := c.List(ctx, mail.Criteria{Unseen: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = c.Fetch(ctx, msgs, func(m mail.Message, r io.Reader) error {
		_, err := io.Copy(os.Stdout, r)
		return err
	})
	if graph.ErrorCode(err) == graph.CodeInvalidIDMalformed {
		fmt.Println("Graph says: Id is malformed.")
	}
}
