package hostile

import (
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
)

// SMTP starts a polite SMTP server whose EHLO reply lists exts and nothing
// else, for the extensions go-smtp cannot leave out (8BITMIME, DSN): it
// takes any AUTH, every command and every message. The returned func lists
// the commands it was sent so far.
func SMTP(t testing.TB, exts ...string) (*Server, func() []string) {
	var mu sync.Mutex
	var cmds []string
	srv := Start(t, func(c net.Conn) {
		io.WriteString(c, "220 mx.example.com ESMTP ready\r\n")
		br := Lines(c)
		for {
			line, ok := ReadLine(br)
			if !ok {
				return
			}
			mu.Lock()
			cmds = append(cmds, line)
			mu.Unlock()
			switch strings.ToUpper(strings.Fields(line + " x")[0]) {
			case "EHLO":
				reply := "250-mx.example.com\r\n"
				for _, e := range exts {
					reply += "250-" + e + "\r\n"
				}
				io.WriteString(c, reply+"250 HELP\r\n")
			case "AUTH":
				io.WriteString(c, "235 2.7.0 Authentication successful\r\n")
			case "DATA":
				io.WriteString(c, "354 go ahead\r\n")
				for l, ok := ReadLine(br); l != "."; l, ok = ReadLine(br) {
					if !ok {
						return
					}
				}
				io.WriteString(c, "250 2.0.0 queued\r\n")
			case "QUIT":
				io.WriteString(c, "221 bye\r\n")
				return
			default:
				io.WriteString(c, "250 2.0.0 ok\r\n")
			}
		}
	})
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(cmds)
	}
}
