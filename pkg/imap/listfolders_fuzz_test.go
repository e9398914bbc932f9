package imap

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/mail"
)

// FuzzCheckFolder plays arbitrary bytes as the server's answers to a login,
// Folders and CheckFolder (turns separated by sessionSep, as in
// FuzzSession), with a 100 ms step timeout. It must never panic, always
// end, and never return more than MaxFolders folders.
func FuzzCheckFolder(f *testing.F) {
	honest := []string{
		"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n",
		"T1 OK logged in\r\n",
		"* LIST (\\Noselect) \".\" \"\"\r\nT2 OK done\r\n",
		"* LIST () \".\" INBOX\r\n* LIST () \".\" INBOX.Endpoint\r\n* LIST (\\Noselect) \".\" Shared\r\nT3 OK done\r\n",
		"* LIST () \".\" Archive.Done\r\nT4 OK done\r\n",
		"* BYE\r\nT5 OK done\r\n",
	}
	f.Add([]byte(strings.Join(honest, sessionSep)))
	with := func(i int, turn string) []byte {
		h := append([]string(nil), honest...)
		h[i] = turn
		return []byte(strings.Join(h, sessionSep))
	}
	f.Add(with(3, "* LIST () \".\" {5}\r\nA.B.C\r\n* LIST () NIL Flat\r\n* LIST (\\NonExistent) \".\" Gone\r\nT3 OK done\r\n"))
	f.Add(with(3, "* LIST () \".\" \"a/b\"\r\n* LIST () \"/\" \"\\\"\"\r\nT3 OK done\r\n"))
	f.Add(with(2, "* LIST () NIL \"\"\r\nT2 OK done\r\n"))
	f.Add(with(4, "* LIST (\\Noselect) \".\" Archive.Done\r\nT4 OK done\r\n"))
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
			if fs, _ := c.Folders(ctx, mail.FolderOptions{PathsOnly: true}); len(fs) > MaxFolders {
				t.Errorf("%d folders kept", len(fs))
			}
			c.CheckFolder(ctx, "Archive/Done")
		})
	})
}
