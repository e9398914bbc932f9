package iostreams

import "testing"

// Under go test stdout is not a terminal: colour only when forced.
func TestColorEnabledFromEnvironment(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"piped", nil, false},
		{"CLICOLOR_FORCE=1 when piped", map[string]string{"CLICOLOR_FORCE": "1"}, true},
		{"CLICOLOR_FORCE=0", map[string]string{"CLICOLOR_FORCE": "0"}, false},
		{"forced wins over NO_COLOR, as in gh", map[string]string{"CLICOLOR_FORCE": "1", "NO_COLOR": "1"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"CLICOLOR_FORCE", "NO_COLOR", "CLICOLOR", "TERM"} {
				t.Setenv(k, tt.env[k])
			}
			if got := System().ColorEnabled(); got != tt.want {
				t.Errorf("ColorEnabled = %v, want %v", got, tt.want)
			}
		})
	}
}
