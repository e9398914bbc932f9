package fetch

import (
	"bufio"
	"bytes"
	"mime"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode"
)

// header is what a fetch record shows of a message's header.
type header struct {
	From    string
	Subject string
	Date    string // RFC 3339, "" when missing or unparsable
}

var wordDecoder = &mime.WordDecoder{}

// parseHeader reads From, Subject and Date from a raw header block. It is
// lenient: a value that does not decode is shown as sent, and a broken
// header yields what could be read before the break.
func parseHeader(raw []byte) header {
	if len(raw) == 0 {
		return header{}
	}
	// textproto wants the blank line that ends a header; a header cut at
	// maxHeader has none.
	raw = append(raw[:len(raw):len(raw)], "\r\n\r\n"...)
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw)))
	h, _ := tp.ReadMIMEHeader()
	var out header
	if v := h.Get("Subject"); v != "" {
		if d, err := wordDecoder.DecodeHeader(v); err == nil {
			v = d
		}
		out.Subject = showLine(v)
	}
	if v := h.Get("From"); v != "" {
		if list, err := mail.ParseAddressList(v); err == nil && len(list) > 0 {
			parts := make([]string, len(list))
			for i, a := range list {
				parts[i] = a.String()
				if a.Name == "" {
					parts[i] = a.Address
				} else if name, err := wordDecoder.DecodeHeader(a.Name); err == nil {
					parts[i] = name + " <" + a.Address + ">"
				}
			}
			v = joinComma(parts)
		} else if d, err := wordDecoder.DecodeHeader(v); err == nil {
			v = d
		}
		out.From = showLine(v)
	}
	if v := h.Get("Date"); v != "" {
		if t, err := mail.ParseDate(v); err == nil {
			out.Date = t.Format(time.RFC3339)
		}
	}
	return out
}

// showLine makes a header value one harmless line of output: besides the
// C0 controls trimLine blanks, C1 controls (U+009B is CSI to some
// terminals) and the Unicode line and paragraph separators become spaces.
func showLine(s string) string {
	return trimLine(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s))
}

func joinComma(parts []string) string {
	var b bytes.Buffer
	for i, p := range parts {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p)
	}
	return b.String()
}
