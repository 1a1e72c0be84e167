package header

import "testing"

func TestIsStart(t *testing.T) {
	for line, want := range map[string]bool{
		"Subject: x": true, "X-Foo:": true, "Received :x": true, "From x": false,
		": no name": false, "": false, " folded: x": false, "Bad\x00: x": false, "Ü: x": false,
	} {
		if got := IsStart([]byte(line)); got != want {
			t.Errorf("IsStart(%q) = %v", line, got)
		}
	}
	if !IsContinuation([]byte("\tmore")) || IsContinuation([]byte("x")) || IsContinuation(nil) {
		t.Error("IsContinuation wrong")
	}
}
