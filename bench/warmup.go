package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// warmup reads every message once over IMAP and lists them over POP3
// before anything is timed, so Dovecot's index and cache (including the
// POP3 sizes and UIDLs) and the page cache are as warm for the first tool
// as for the last.
func warmup(s Server) error {
	if err := warmIMAP(s); err != nil {
		return fmt.Errorf("warm-up over IMAP: %w", err)
	}
	if err := warmPOP3(s); err != nil {
		return fmt.Errorf("warm-up over POP3: %w", err)
	}
	return nil
}

func dial(s Server, port int) (net.Conn, error) {
	addr := net.JoinHostPort(s.Host, strconv.Itoa(port))
	if !s.TLS {
		return net.DialTimeout("tcp", addr, 10*time.Second)
	}
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, &tls.Config{RootCAs: pool, ServerName: s.Host})
}

var literalRE = regexp.MustCompile(`\{(\d+)\}\r\n$`)

func warmIMAP(s Server) error {
	c, err := dial(s, s.IMAPPort)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Minute))
	r := bufio.NewReaderSize(c, 256<<10)
	if _, err := r.ReadString('\n'); err != nil {
		return err
	}
	cmds := []string{
		fmt.Sprintf("a1 LOGIN %s %s", quote(s.User), quote(s.Password)),
		"a2 SELECT INBOX",
		"a3 FETCH 1:* (UID RFC822.SIZE INTERNALDATE BODY.PEEK[])",
		"a4 LOGOUT",
	}
	for _, cmd := range cmds {
		tag := cmd[:2]
		if _, err := io.WriteString(c, cmd+"\r\n"); err != nil {
			return err
		}
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return err
			}
			// A literal's bytes follow its announcing line; skip them
			// without looking inside (bodies may hold anything).
			for m := literalRE.FindStringSubmatch(line); m != nil; m = literalRE.FindStringSubmatch(line) {
				n, _ := strconv.ParseInt(m[1], 10, 64)
				if _, err := io.CopyN(io.Discard, r, n); err != nil {
					return err
				}
				if line, err = r.ReadString('\n'); err != nil {
					return err
				}
			}
			if strings.HasPrefix(line, tag+" ") {
				if !strings.HasPrefix(line, tag+" OK") {
					return fmt.Errorf("server answered %q", strings.TrimSpace(line))
				}
				break
			}
		}
	}
	return nil
}

func warmPOP3(s Server) error {
	c, err := dial(s, s.POP3Port)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Minute))
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		return err
	}
	for _, cmd := range []string{"USER " + s.User, "PASS " + s.Password, "LIST", "UIDL", "QUIT"} {
		if _, err := io.WriteString(c, cmd+"\r\n"); err != nil {
			return err
		}
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "+OK") {
			return fmt.Errorf("server answered %q to %s", strings.TrimSpace(line), strings.Fields(cmd)[0])
		}
		if cmd == "LIST" || cmd == "UIDL" {
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return err
				}
				if l == ".\r\n" {
					break
				}
			}
		}
	}
	return nil
}

func quote(s string) string { return strconv.Quote(s) }
