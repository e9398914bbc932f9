package store_test

import (
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/store"
)

// The order a fetch engine follows: put, commit, act on the server only
// with the receipts, acknowledge.
func Example() {
	dir, err := os.MkdirTemp("", "mailport-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	st, err := store.Open(dir, store.Options{Format: store.EML, Wait: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	mb, err := st.Mailbox("support", "INBOX", "1700000000")
	if err != nil {
		log.Fatal(err)
	}

	received := time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC)
	for _, id := range []string{"41", "42"} {
		if mb.Seen(id) {
			continue
		}
		msg := mail.Message{ID: id, Received: received}
		if _, err := mb.Put(msg, strings.NewReader("Subject: hello\r\n\r\nbody\r\n")); err != nil {
			log.Fatal(err)
		}
	}
	receipts, err := mb.Commit()
	if err != nil {
		log.Fatal(err)
	}
	// Here the engine deletes the messages on the server, then:
	if err := mb.Acknowledge(store.ActionDeleted, receipts...); err != nil {
		log.Fatal(err)
	}
	for _, r := range receipts {
		fmt.Println(r.File, r.Size)
	}
	fmt.Println(mb.Seen("42"), len(mb.Unacknowledged()))
	// Output:
	// 20261126T101500Z_41.eml 24
	// 20261126T101500Z_42.eml 24
	// true 0
}
