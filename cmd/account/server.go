package account

import (
	"net/url"
	"strconv"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
)

// server is where mailport connects for an account, as add, show and list
// print it.
type server struct {
	Host        string
	Port        int
	PortDefault bool // the port is the protocol's (or the URL scheme's) default
	Encryption  string
	GraphURL    string // the Graph root, for protocol microsoft
}

// Addr is "host:port", or a Graph URL without a host as it is.
func (s server) Addr() string {
	if s.Port == 0 {
		return s.Host
	}
	return s.Host + ":" + strconv.Itoa(s.Port)
}

// serverOf resolves an account's server. A Graph account talks to its
// Graph root (graph_url, else its token config's cloud), never to its host
// field, which the office365 preset fills with Microsoft's
// outlook.office365.com.
func serverOf(cfg *config.Config, a *config.Account) server {
	if a.Protocol != config.Microsoft {
		return server{Host: a.Host, Port: a.EffectivePort(), PortDefault: a.Port == 0, Encryption: a.Encryption}
	}
	s := server{GraphURL: (&connect.Opener{Config: cfg}).GraphURL(a), Port: 443, PortDefault: true, Encryption: config.SSL}
	u, err := url.Parse(s.GraphURL)
	if err != nil || u.Host == "" {
		// A graph_url that is no URL: shown as it is; test says what is wrong.
		s.Host, s.Port, s.PortDefault = s.GraphURL, 0, false
		return s
	}
	s.Host = u.Hostname()
	if u.Scheme == "http" {
		s.Port, s.Encryption = 80, config.None
	}
	if p, err := strconv.Atoi(u.Port()); err == nil {
		s.Port, s.PortDefault = p, false
	}
	return s
}
