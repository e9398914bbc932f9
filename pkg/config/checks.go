package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// KnownProperties are the account property keys mailport reads, with the
// package that reads each; any other key is refused, since it would
// silently do nothing.
var KnownProperties = map[string]string{
	"allow_plaintext_auth":  "connect",
	"tls_ca_file":           "connect",
	"tls_insecure":          "connect",
	"graph_url":             "connect",
	"pop3.xoauth2.two_line": "pop3",
	"smtp.helo_name":        "smtp",
	"google.tokeninfo_url":  "diagnose",
}

// PropertyNames lists KnownProperties' keys, sorted.
func PropertyNames() []string {
	names := make([]string, 0, len(KnownProperties))
	for k := range KnownProperties {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// UnknownProperty says what is wrong with a property key mailport does
// not read, naming the closest known one; "" when the key is known.
func UnknownProperty(key string) string {
	if _, ok := KnownProperties[key]; ok {
		return ""
	}
	hint := ""
	if c := Closest(key, PropertyNames()); c != "" {
		hint = "; did you mean " + c + "?"
	}
	return "unknown property" + hint + " (known: " + strings.Join(PropertyNames(), ", ") + ")"
}

var hostnamePattern = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$`)

// HostProblem is what is wrong with a host field.
type HostProblem struct {
	// Kind is "url" (a URL instead of a host), "port" (host:port) or
	// "invalid" (neither a host name nor an IP address).
	Kind string
	// Host and Port are the parts of a URL or host:port the user meant.
	Host, Port string
}

// Fix says how to set the host (and port) apart, in the file's and the
// flags' words: "set host: x and port: 993 (--host x --port 993)".
func (p *HostProblem) Fix() string {
	if p.Port == "" {
		return fmt.Sprintf("set host: %s (--host %s)", p.Host, p.Host)
	}
	return fmt.Sprintf("set host: %s and port: %s (--host %s --port %s)", p.Host, p.Port, p.Host, p.Port)
}

// CheckHost returns nil when h is a host name or an IP address (IPv6 with
// or without brackets), else what it is instead.
func CheckHost(h string) *HostProblem {
	if ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")); ip != nil {
		return nil
	}
	if len(h) <= 253 && hostnamePattern.MatchString(h) {
		return nil
	}
	if strings.Contains(h, "://") {
		if u, err := url.Parse(h); err == nil && u.Hostname() != "" {
			return &HostProblem{Kind: "url", Host: u.Hostname(), Port: u.Port()}
		}
		return &HostProblem{Kind: "url"}
	}
	if host, port, err := net.SplitHostPort(h); err == nil && CheckHost(host) == nil && port != "" {
		return &HostProblem{Kind: "port", Host: host, Port: port}
	}
	return &HostProblem{Kind: "invalid"}
}

// graphHosts are Microsoft Graph's hosts in the global and national clouds.
var graphHosts = map[string]bool{
	"graph.microsoft.com": true, "graph.microsoft.us": true, "dod-graph.microsoft.us": true,
	"microsoftgraph.chinacloudapi.cn": true, "graph.microsoft.de": true,
}

// NormalizeGraphURL adds Graph's version path (/v1.0) to a graph_url of
// one of Microsoft's Graph hosts that has none: requests to
// https://graph.microsoft.com/me fail with "Invalid version: me". Other
// URLs (a proxy, a test server) are kept as they are.
func NormalizeGraphURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || !graphHosts[strings.ToLower(u.Hostname())] || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return raw
	}
	u.Path = "/v1.0"
	return u.String()
}

// normalize brings an account's fields to the form mailport uses:
// graph_url with its version, hold_dir absolute (a relative one is
// relative to baseDir, the config file's directory).
func (a *Account) normalize(baseDir string) {
	if u, ok := a.Properties["graph_url"]; ok && u != "" {
		a.Properties["graph_url"] = NormalizeGraphURL(u)
	}
	if a.HoldDir != "" && !filepath.IsAbs(a.HoldDir) && baseDir != "" {
		a.HoldDir = filepath.Join(baseDir, a.HoldDir)
	}
}
