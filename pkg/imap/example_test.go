package imap_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	mpimap "github.com/mailport/mailport/pkg/imap"
	"github.com/mailport/mailport/pkg/imap/imaptest"
	"github.com/mailport/mailport/pkg/mail"
)

// Fetch the unseen messages of a sub folder to standard output, then mark
// them seen.
func Example() {
	srv, err := imaptest.New(imaptest.Config{Encryption: mail.SSL})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	srv.AddUser("support@example.org", "s3cret")
	srv.CreateFolder("support@example.org", "Inbox/Endpoint")
	srv.Append("support@example.org", "Inbox/Endpoint", []byte("Subject: hello\r\n\r\nHi!\r\n"), nil, time.Time{})

	ctx := context.Background()
	c, err := mpimap.Dial(ctx, srv.Endpoint())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Authenticate(ctx, mail.Credentials{Kind: mail.AuthBasic, Username: "support@example.org", Password: "s3cret"}); err != nil {
		log.Fatal(err)
	}
	folder, err := c.Open(ctx, "Inbox/Endpoint")
	if err != nil {
		log.Fatal(err)
	}
	msgs, err := c.List(ctx, mail.Criteria{Unseen: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d message(s), %d unseen\n", folder.Name, folder.Count, len(msgs))
	var done []string
	err = c.Fetch(ctx, msgs, func(m mail.Message, r io.Reader) error {
		fmt.Printf("UID %s, %d bytes:\n", m.ID, m.Size)
		// A real caller streams to a file; here the CRs go so the output reads well.
		if _, err := io.Copy(dropCR{os.Stdout}, r); err != nil {
			return err
		}
		done = append(done, m.ID)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := c.MarkSeen(ctx, done); err != nil {
		log.Fatal(err)
	}
	// Output:
	// Inbox/Endpoint: 1 message(s), 1 unseen
	// UID 1, 23 bytes:
	// Subject: hello
	//
	// Hi!
}

type dropCR struct{ w io.Writer }

func (d dropCR) Write(p []byte) (int, error) {
	_, err := d.w.Write(bytes.ReplaceAll(p, []byte("\r"), nil))
	return len(p), err
}
