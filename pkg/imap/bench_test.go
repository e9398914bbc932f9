package imap_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	mpimap "github.com/mailport/mailport/pkg/imap"
	"github.com/mailport/mailport/pkg/imap/imaptest"
	"github.com/mailport/mailport/pkg/mail"
)

// BenchmarkFetch streams 2000 messages of mixed sizes (353 MiB in all, the
// mbsync comparison set) from the in-process server over implicit TLS on
// loopback. The server shares the CPU and copies each body before sending,
// so this is a lower bound of the adapter's speed; `make bench` measures it
// against Dovecot.
func BenchmarkFetch(b *testing.B) {
	for _, enc := range []mail.Encryption{mail.None, mail.SSL} {
		b.Run(string(enc), func(b *testing.B) {
			s := imaptest.Start(b, imaptest.Config{Encryption: enc})
			s.AddUser("bench", "pw")
			var total int64
			// Sizes cycle through small notes, mid-size mails and attachments.
			sizes := []int{2 << 10, 6 << 10, 20 << 10, 60 << 10, 150 << 10, 400 << 10}
			line := strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-", 1) + "\r\n"
			for i := 0; i < 2000; i++ {
				size := sizes[i%len(sizes)]
				if i%20 == 0 {
					size = 3 << 19
				}
				body := strings.Repeat(line, size/len(line))
				raw := []byte(fmt.Sprintf("Subject: m%d\r\n\r\n%s", i, body))
				total += int64(len(raw))
				if _, err := s.Append("bench", "INBOX", raw, nil, time.Time{}); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(total)
			b.ReportMetric(float64(total)/(1<<20), "MiB/op")
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				c, err := mpimap.Dial(ctx, s.Endpoint())
				if err != nil {
					b.Fatal(err)
				}
				if err := c.Authenticate(ctx, mail.Credentials{Kind: mail.AuthBasic, Username: "bench", Password: "pw"}); err != nil {
					b.Fatal(err)
				}
				if _, err := c.Open(ctx, "INBOX"); err != nil {
					b.Fatal(err)
				}
				msgs, err := c.List(ctx, mail.Criteria{})
				if err != nil {
					b.Fatal(err)
				}
				var n int64
				err = c.Fetch(ctx, msgs, func(_ mail.Message, r io.Reader) error {
					k, err := io.Copy(io.Discard, r)
					n += k
					return err
				})
				if err != nil || n != total {
					b.Fatalf("fetched %d of %d bytes: %v", n, total, err)
				}
				c.Close()
			}
		})
	}
}
