package pop3_test

import (
	"context"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/pop3"
)

// Fetch every message of a Microsoft 365 mailbox over POP3 with an OAuth2
// token into a directory, then delete them from the server.
func Example() {
	ctx := context.Background()
	ep := mail.Endpoint{Host: "outlook.office365.com", Port: 995, Encryption: mail.SSL}
	c, err := pop3.Dial(ctx, ep)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	token := func(context.Context) (string, error) { return os.Getenv("ACCESS_TOKEN"), nil }
	if err := c.Authenticate(ctx, mail.Credentials{Kind: mail.AuthOAuth2, Username: "support@example.com", Token: token}); err != nil {
		log.Fatal(err) // a *mail.AuthError keeps the server's -ERR words
	}
	if _, err := c.Open(ctx, "INBOX"); err != nil {
		log.Fatal(err)
	}
	msgs, err := c.List(ctx, mail.Criteria{})
	if err != nil {
		log.Fatal(err)
	}
	err = c.Fetch(ctx, msgs, func(m mail.Message, r io.Reader) error {
		f, err := os.Create(filepath.Join("out", m.ID+".eml"))
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, r); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
	if err != nil {
		log.Fatal(err)
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	if err := c.Delete(ctx, ids); err != nil {
		log.Fatal(err)
	}
	// The deletions happen when the server accepts QUIT.
	if err := c.Close(); err != nil {
		log.Fatal(err)
	}
}
