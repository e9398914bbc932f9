package compose

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	netmail "net/mail"
	"net/textproto"
	"os"
	"strings"
)

// RawInfo is what sending needs from an existing message's header.
type RawInfo struct {
	From      string   // bare address of the (first) From; "" when none
	To        []string // bare addresses of the To fields
	Cc        []string
	Bcc       []string
	MessageID string // the Message-ID field as written, "" when none
}

// Recipients are To, Cc and Bcc, each once: the envelope.
func (r RawInfo) Recipients() []string {
	var out []string
	seen := map[string]bool{}
	for _, list := range [][]string{r.To, r.Cc, r.Bcc} {
		for _, a := range list {
			if k := strings.ToLower(a); !seen[k] {
				seen[k] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// ReadRawHeader reads only the header section of a raw RFC 5322 message
// from r and extracts the envelope and Message-ID; the body is not read.
// Bcc fields stay in the message as they are: sending a raw message never
// changes its bytes.
func ReadRawHeader(r io.Reader) (RawInfo, error) {
	tr := textproto.NewReader(bufio.NewReader(r))
	h, err := tr.ReadMIMEHeader()
	// A message may be all header with no body and no blank line.
	if err != nil && !(errors.Is(err, io.EOF) && len(h) > 0) {
		if errors.Is(err, io.EOF) {
			return RawInfo{}, errors.New("the raw message is empty")
		}
		return RawInfo{}, fmt.Errorf("the raw message does not start with an RFC 5322 header: %w", err)
	}
	var info RawInfo
	fields := []struct {
		name string
		dst  *[]string
	}{{"To", &info.To}, {"Cc", &info.Cc}, {"Bcc", &info.Bcc}}
	for _, f := range fields {
		for _, v := range h.Values(f.name) {
			list, err := parseHeaderAddrs(v)
			if err != nil {
				return RawInfo{}, fmt.Errorf("the raw message's %s field: %w", f.name, err)
			}
			*f.dst = append(*f.dst, list...)
		}
	}
	if v := h.Get("From"); v != "" {
		list, err := parseHeaderAddrs(v)
		if err != nil {
			return RawInfo{}, fmt.Errorf("the raw message's From field: %w", err)
		}
		if len(list) > 0 {
			info.From = list[0]
		}
	}
	info.MessageID = strings.TrimSpace(h.Get("Message-Id"))
	return info, nil
}

// addrParser decodes RFC 2047 names in any charset it does not know by
// keeping the bytes: only the addresses matter here.
var addrParser = netmail.AddressParser{WordDecoder: &mime.WordDecoder{
	CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
}}

func parseHeaderAddrs(v string) ([]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	list, err := addrParser.ParseList(v)
	if err != nil {
		return nil, addressError(v, err, true)
	}
	out := make([]string, 0, len(list))
	for _, a := range list {
		out = append(out, a.Address)
	}
	return out, nil
}

// Raw is an existing message to send as it is, from a file or stdin.
type Raw struct {
	RawInfo
	Size int64 // octets
	// EightBit is true when an octet of the message, header or body, is
	// 0x80 or above: the server must take 8-bit mail (8BITMIME).
	EightBit bool

	f      *os.File
	spool  string // path of the stdin spool file, removed by Close
	closed bool
}

// OpenRaw opens the raw message for `send --raw NAME`. NAME "-" reads
// stdin, which is spooled to a temporary file first (the header must be
// read before sending, and stdin cannot be rewound); a file is read in
// place. Only the header is parsed; the body is never loaded into memory.
func OpenRaw(name string, stdin io.Reader) (*Raw, error) {
	r := &Raw{}
	if name == "-" {
		f, err := os.CreateTemp("", "mailport-raw-*.eml")
		if err != nil {
			return nil, fmt.Errorf("spool the message from stdin: %w", err)
		}
		r.f, r.spool = f, f.Name()
		if _, err := io.Copy(f, stdin); err != nil {
			r.Close()
			return nil, fmt.Errorf("read the message from stdin: %w", err)
		}
	} else {
		f, err := os.Open(name)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("raw message %s does not exist", name)
			}
			return nil, fmt.Errorf("open raw message %s: %w", name, err)
		}
		r.f = f
		if st, err := f.Stat(); err == nil && st.IsDir() {
			r.Close()
			return nil, fmt.Errorf("raw message %s is a directory, not a file", name)
		}
	}
	size, err := r.f.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = r.f.Seek(0, io.SeekStart)
	}
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("read the raw message: %w", err)
	}
	r.Size = size
	if r.EightBit, err = has8Bit(r.f); err == nil {
		_, err = r.f.Seek(0, io.SeekStart)
	}
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("read the raw message: %w", err)
	}
	info, err := ReadRawHeader(r.f)
	if err != nil {
		r.Close()
		return nil, err
	}
	r.RawInfo = info
	return r, nil
}

// Reader returns the message from its first byte. Each call starts over,
// so a failed send can be retried.
func (r *Raw) Reader() (io.Reader, error) {
	if r.closed {
		return nil, errors.New("the raw message is closed")
	}
	if _, err := r.f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewind the raw message: %w", err)
	}
	// Only the file's bytes, without exposing Seek/Close to the caller.
	return io.LimitReader(r.f, r.Size), nil
}

// Close closes the file and removes the stdin spool.
func (r *Raw) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.f.Close()
	if r.spool != "" {
		if rerr := os.Remove(r.spool); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// has8Bit reads r to its end and reports whether an octet is 0x80 or above.
func has8Bit(r io.Reader) (bool, error) {
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		for _, b := range buf[:n] {
			if b >= 0x80 {
				return true, nil
			}
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}
