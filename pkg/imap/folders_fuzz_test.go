package imap

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/mail"
)

// FuzzFolders plays arbitrary bytes as an IMAP server to a client that
// lists the folders (LIST, then STATUS or LIST-STATUS) and opens a folder
// that is missing (LIST per level, then LIST "*" for the nearest), with a
// 100 ms step timeout. It must never panic, always end, and list no path
// with an empty first level.
func FuzzFolders(f *testing.F) {
	honest := []string{
		"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN LIST-EXTENDED LIST-STATUS SPECIAL-USE] ready\r\n",
		"T1 OK [CAPABILITY IMAP4rev1 LIST-EXTENDED LIST-STATUS SPECIAL-USE] logged in\r\n",
		"* LIST (\\HasChildren) \".\" INBOX\r\n* STATUS INBOX (MESSAGES 3 UNSEEN 1)\r\n" +
			"* LIST (\\HasNoChildren) \".\" INBOX.Notes\r\n* STATUS INBOX.Notes (MESSAGES 0 UNSEEN 0)\r\n" +
			"* LIST (\\Noselect \\HasChildren) \".\" Projects\r\n* LIST (\\Sent) \".\" Sent\r\n* STATUS Sent (MESSAGES 9 UNSEEN 0)\r\nT2 OK done\r\n",
		"T3 NO no such mailbox\r\n",
		"* LIST () \".\" INBOX\r\nT4 OK done\r\n",
		"T5 OK done\r\n",
		"* LIST () \".\" INBOX\r\n* LIST () \".\" INBOX.Notes\r\nT6 OK done\r\n",
	}
	f.Add([]byte(strings.Join(honest, sessionSep)))
	turn := func(i int, s string) []byte {
		h := append([]string(nil), honest...)
		h[i] = s
		return []byte(strings.Join(h, sessionSep))
	}
	f.Add(turn(0, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n"))
	f.Add(turn(2, "* LIST () NIL \"\"\r\n* LIST () \"/\" \"/\"\r\n* LIST () \".\" {3}\r\n...\r\n* STATUS x (MESSAGES 4294967295 UNSEEN -1)\r\nT2 OK done\r\n"))
	f.Add(turn(2, strings.Repeat("* LIST () \".\" a\r\n", 100)+"T2 OK done\r\n"))
	f.Add(turn(2, "* STATUS INBOX (MESSAGES 1)\r\n* LIST (\\NonExistent) \".\" INBOX\r\nT2 BAD no\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		playSession(t, data, func(conn net.Conn) {
			ctx := context.Background()
			ep := mail.Endpoint{Host: "fuzz.invalid", Port: 143, Encryption: mail.None, AllowPlaintextAuth: true, Timeout: 100 * time.Millisecond}
			c, err := attach(ctx, conn, ep)
			if err != nil {
				return
			}
			defer c.Close()
			c.Authenticate(ctx, mail.Credentials{Kind: mail.AuthBasic, Username: "u", Password: "p"})
			fs, _ := c.Folders(ctx, mail.FolderOptions{})
			for _, f := range fs {
				if (f.Messages != nil && *f.Messages < 0) || (f.Unread != nil && *f.Unread < 0) {
					t.Errorf("folder %q has a negative count", f.Path)
				}
			}
			c.Open(ctx, "INBOX/Nope")
		})
	})
}
