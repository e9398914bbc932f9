package resolver_test

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mailport/mailport/pkg/resolver"
)

// hostileDNS answers every query over UDP first with a forged answer (a
// wrong ID), then with the right ID but records for other names beside
// the one asked for. It serves until the test ends.
func hostileDNS(t *testing.T, answer func(q dns.Question) []string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := new(dns.Msg)
			if q.Unpack(buf[:n]) != nil || len(q.Question) != 1 {
				continue
			}
			send := func(id uint16, records []string) {
				m := new(dns.Msg)
				m.SetReply(q)
				m.Id = id
				for _, s := range records {
					rr, err := dns.NewRR(s)
					if err != nil {
						panic(err)
					}
					m.Answer = append(m.Answer, rr)
				}
				b, err := m.Pack()
				if err == nil {
					pc.WriteTo(b, from)
				}
			}
			name := q.Question[0].Name
			send(q.Id+1, []string{name + " 60 IN A 192.0.2.66", name + " 60 IN MX 10 evil.test."})
			send(q.Id, answer(q.Question[0]))
		}
	}()
	return pc.LocalAddr().String()
}

// TestForgedAndForeignAnswersAreIgnored: an answer with another query's ID
// and records for names that were not asked about are not taken.
func TestForgedAndForeignAnswersAreIgnored(t *testing.T) {
	addr := hostileDNS(t, func(q dns.Question) []string {
		switch q.Qtype {
		case dns.TypeA:
			return []string{"mail.other.test. 60 IN A 192.0.2.77", "mail.corp.test. 60 IN A 192.0.2.10"}
		case dns.TypeMX:
			return []string{"other.test. 60 IN MX 5 mx.evil.test.", "corp.test. 60 IN MX 10 mx.corp.test."}
		case dns.TypeSRV:
			return []string{"_imaps._tcp.other.test. 60 IN SRV 0 0 993 imap.evil.test.", "_imaps._tcp.corp.test. 60 IN SRV 0 0 993 imap.corp.test."}
		}
		return nil
	})
	r := &resolver.Resolver{Server: addr, Timeout: time.Second}
	ctx := context.Background()
	addrs, err := r.LookupHost(ctx, "mail.corp.test")
	if err != nil || strings.Join(addrs, " ") != "192.0.2.10" {
		t.Errorf("LookupHost = %q, %v; want only 192.0.2.10", addrs, err)
	}
	mxs, err := r.LookupMX(ctx, "corp.test")
	if err != nil || len(mxs) != 1 || mxs[0].Host != "mx.corp.test." {
		t.Errorf("LookupMX = %v, %v; want only mx.corp.test.", mxs, err)
	}
	srvs, err := r.LookupSRV(ctx, "imaps", "tcp", "corp.test")
	if err != nil || len(srvs) != 1 || srvs[0].Target != "imap.corp.test." {
		t.Errorf("LookupSRV = %v, %v; want only imap.corp.test.", srvs, err)
	}
}

// TestIPv6ResolverAddress: MAILPORT_RESOLVER=[::1]:PORT reaches a DNS
// server on the IPv6 loopback.
func TestIPv6ResolverAddress(t *testing.T) {
	pc, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		rr, _ := dns.NewRR(q.Question[0].Name + " 60 IN MX 10 mx6.corp.test.")
		if q.Question[0].Qtype == dns.TypeMX {
			m.Answer = append(m.Answer, rr)
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	t.Setenv(resolver.EnvVar, pc.LocalAddr().String())
	r, err := resolver.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Server, "[::1]:") {
		t.Errorf("server %q, want [::1]:PORT", r.Server)
	}
	mxs, err := r.LookupMX(context.Background(), "corp.test")
	if err != nil || len(mxs) != 1 || mxs[0].Host != "mx6.corp.test." {
		t.Errorf("LookupMX over IPv6 = %v, %v", mxs, err)
	}
}

// TestSlowAliasChainIsBoundedByOneTimeout: a server that answers each
// question late with an alias to yet another name cannot stretch one
// lookup past its timeout, however many aliases it hands out.
func TestSlowAliasChainIsBoundedByOneTimeout(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var hop atomic.Int32
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		time.Sleep(200 * time.Millisecond)
		m := new(dns.Msg)
		m.SetReply(q)
		rr, _ := dns.NewRR(q.Question[0].Name + " 60 IN CNAME hop" + strconv.Itoa(int(hop.Add(1))) + ".corp.test.")
		m.Answer = append(m.Answer, rr)
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	r := &resolver.Resolver{Server: pc.LocalAddr().String(), Timeout: 500 * time.Millisecond}
	start := time.Now()
	_, err = r.LookupMX(context.Background(), "corp.test")
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("LookupMX succeeded through an endless alias chain")
	}
	if elapsed > 900*time.Millisecond {
		t.Errorf("the lookup took %s through the alias chain, want about 500ms (%v)", elapsed, err)
	}
	t.Logf("slow alias chain: gave up after %s: %v", elapsed.Round(time.Millisecond), err)
}

// TestHugeResponseHeadersAreRefused: a web server sending megabytes of
// headers gets an error, not the memory.
func TestHugeResponseHeadersAreRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("HTTP/1.1 200 OK\r\n"))
		line := []byte("X-Pad: " + strings.Repeat("x", 1000) + "\r\n")
		for i := 0; i < 2048; i++ { // 2 MB
			if _, err := c.Write(line); err != nil {
				return
			}
		}
	}()
	tr := resolver.Transport(&resolver.Resolver{}, 2*time.Second)
	tr.Proxy = nil
	resp, err := (&http.Client{Transport: tr}).Get("http://" + ln.Addr().String() + "/")
	if err == nil {
		resp.Body.Close()
		t.Fatal("2 MB of headers were accepted")
	}
	if !strings.Contains(err.Error(), "header") {
		t.Errorf("error %v, want it to name the headers", err)
	}
}
