package main

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The mix of the generated set (issue 5): 80 % small notes of 2–20 KB,
// 15 % mails of 50–300 KB with an attachment, 5 % large ones of 1–5 MB.
const (
	smallShare  = 0.80
	mediumShare = 0.15
)

// Original is one generated message as written to the originals directory.
type Original struct {
	Index int
	Path  string
	Size  int64
}

// Token is the string that identifies message i in every copy a tool
// writes: it is in the Message-ID and the Subject, so a tool that refolds
// one of them still leaves the other findable.
func Token(i int) string { return fmt.Sprintf("mpbench.%06d", i) }

// BigIndex is the index of the extra 30 MB message of the memory run; it is
// never one of the N regular messages.
const BigIndex = 999999

var words = strings.Fields(`the a of to and in is that for on with as by at from mail message server
folder account fetch token inbox delivery report invoice meeting schedule quarterly numbers please
review attached document regards thanks budget project update status team customer order shipment
Grüße Köln naïve café façade smørrebrød déjà-vu Zürich`)

// messageRand is the PRNG of message i: each message depends only on the
// seed and its index, so N=200 is a prefix of N=2000.
func messageRand(seed uint64, i int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(i)*0x9e3779b97f4a7c15+1))
}

// targetSize picks the message's approximate size from the mix.
func targetSize(r *rand.Rand) (size int, attach bool) {
	switch p := r.Float64(); {
	case p < smallShare:
		return 2<<10 + r.IntN(18<<10), false
	case p < smallShare+mediumShare:
		return 50<<10 + r.IntN(250<<10), true
	default:
		return 1<<20 + r.IntN(4<<20), true
	}
}

// Generate writes message i of the set to w with LF line ends (as an LDA
// leaves a Maildir). size > 0 overrides the drawn size (the 30 MB message).
func Generate(w io.Writer, seed uint64, i, size int) error {
	r := messageRand(seed, i)
	drawn, attach := targetSize(r)
	if size <= 0 {
		size = drawn
	} else {
		attach = true
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := &countWriter{w: bw}
	date := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * 97 * time.Second)
	tok := Token(i)

	// Headers: a Received chain, 8-bit (raw UTF-8) display names and
	// subject, folded fields, and a field long enough to need folding.
	fmt.Fprintf(cw, "Received: from mx%d.example.net (mx%d.example.net [192.0.2.%d])\n\tby mail.example.test (Postfix) with ESMTPS id %X\n\tfor <bench@example.test>; %s\n",
		r.IntN(9), r.IntN(9), 1+r.IntN(250), r.Uint32(), date.Format(time.RFC1123Z))
	fmt.Fprintf(cw, "Date: %s\n", date.Format(time.RFC1123Z))
	fmt.Fprintf(cw, "From: \"Jürgen Müller-%d\" <sender%d@example.net>\n", r.IntN(50), r.IntN(50))
	cw.WriteString("To: bench@example.test\n")
	if r.IntN(3) == 0 {
		cw.WriteString("Cc: \"Zoë Ångström\" <zoe@example.org>,\n \"Team\" <team@example.org>\n")
	}
	fmt.Fprintf(cw, "Subject: %s %s\n\t%s über den Plan\n", tok, sentence(r, 4+r.IntN(6)), sentence(r, 3))
	fmt.Fprintf(cw, "Message-ID: <%s.%08x@mailport.test>\n", tok, r.Uint32())
	if r.IntN(2) == 0 {
		cw.WriteString("References:")
		for k := 0; k < 3+r.IntN(12); k++ {
			fmt.Fprintf(cw, "\n <ref%08x.%d@lists.example.org>", r.Uint32(), k)
		}
		cw.WriteString("\n")
	}
	fmt.Fprintf(cw, "X-Mailer: bench-generator/1 (%s)\n", sentence(r, 2))
	cw.WriteString("MIME-Version: 1.0\n")

	boundary := fmt.Sprintf("=_mpbench_%08x", r.Uint32())
	if attach {
		fmt.Fprintf(cw, "Content-Type: multipart/mixed;\n\tboundary=\"%s\"\n\n", boundary)
		cw.WriteString("This is a multi-part message in MIME format.\n\n")
		fmt.Fprintf(cw, "--%s\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n", boundary)
	} else {
		cw.WriteString("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n")
	}

	// The text part: a share of the size for attachments, all of it
	// otherwise.
	textSize := size
	if attach {
		textSize = 1<<10 + r.IntN(4<<10)
	}
	if err := writeText(cw, r, textSize, size); err != nil {
		return err
	}
	if attach {
		fmt.Fprintf(cw, "\n--%s\nContent-Type: application/octet-stream; name=\"report-%d.bin\"\nContent-Disposition: attachment;\n\tfilename=\"report-%d.bin\"\nContent-Transfer-Encoding: base64\n\n",
			boundary, i, i)
		// base64 grows by 4/3 plus a newline per 76 characters.
		raw := (size - int(cw.n) - 200) * 57 / 77
		if raw < 1024 {
			raw = 1024
		}
		if err := writeBase64(cw, r, raw); err != nil {
			return err
		}
		fmt.Fprintf(cw, "\n--%s--\n", boundary)
	}
	if cw.err != nil {
		return cw.err
	}
	return bw.Flush()
}

// writeText writes about n bytes of text: ordinary wrapped lines, lines
// starting with "." (POP3 dot-stuffing, and "." alone), and now and then a
// line over 5000 characters.
func writeText(cw *countWriter, r *rand.Rand, n, total int) error {
	start := cw.n
	long := r.IntN(4) == 0 || total > 1<<20
	for cw.n-start < int64(n) && cw.err == nil {
		switch k := r.IntN(40); {
		case k == 0:
			cw.WriteString(".\n")
		case k == 1:
			cw.WriteString("..double dot at the start\n")
		case k == 2:
			cw.WriteString("." + sentence(r, 5) + "\n")
		case k == 3 && long:
			// 5001–12000 characters on one line, no spaces to break at
			// for the first part: tools that wrap or cut lines show here.
			l := 5001 + r.IntN(7000)
			if int64(l) > int64(n)-(cw.n-start) {
				continue // keep the message within its size class
			}
			var b strings.Builder
			for b.Len() < l {
				b.WriteString(words[r.IntN(len(words))])
				if r.IntN(8) == 0 {
					b.WriteByte(' ')
				}
			}
			cw.WriteString(b.String() + "\n")
		case k == 4:
			cw.WriteString("From the desk of the sender (a line starting with From)\n")
		case k == 5:
			cw.WriteString("\n")
		default:
			cw.WriteString(sentence(r, 6+r.IntN(8)) + "\n")
		}
	}
	return cw.err
}

func writeBase64(cw *countWriter, r *rand.Rand, raw int) error {
	chunk := make([]byte, 57)
	line := make([]byte, 77)
	for left := raw; left > 0 && cw.err == nil; left -= 57 {
		k := min(57, left)
		for j := 0; j < k; j++ {
			chunk[j] = byte(r.Uint32())
		}
		m := base64.StdEncoding.EncodedLen(k)
		base64.StdEncoding.Encode(line, chunk[:k])
		line[m] = '\n'
		cw.Write(line[:m+1])
	}
	return cw.err
}

func sentence(r *rand.Rand, n int) string {
	parts := make([]string, n)
	for j := range parts {
		parts[j] = words[r.IntN(len(words))]
	}
	return strings.Join(parts, " ")
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

func (c *countWriter) WriteString(s string) { _, _ = io.WriteString(c, s) }

// WriteOriginal generates message i into dir as NNNNNN.eml and returns its
// size and checksum.
func WriteOriginal(dir string, seed uint64, i, size int) (Original, error) {
	path := filepath.Join(dir, fmt.Sprintf("%06d.eml", i))
	f, err := os.Create(path)
	if err != nil {
		return Original{}, fmt.Errorf("create original %d: %w", i, err)
	}
	cw := &countWriter{w: f}
	err = Generate(cw, seed, i, size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Original{}, fmt.Errorf("write original %d: %w", i, err)
	}
	return Original{Index: i, Path: path, Size: cw.n}, nil
}
