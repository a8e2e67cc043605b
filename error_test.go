package ripcord_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ripcord-dr/ripcord"
)

func TestError(t *testing.T) {
	held := &ripcord.Error{
		Code:    ripcord.ECONFLICT,
		Message: "server s-1 is held by job j-2 (TERMINATE)",
		Hint:    "it will be retried until 12:11",
	}

	tests := []struct {
		name     string
		err      error
		wantCode string
		wantHint string
		wantText string
	}{
		{name: "nil", err: nil, wantCode: "", wantHint: ""},
		{name: "plain error", err: errors.New("disk full"), wantCode: ripcord.EINTERNAL, wantHint: "", wantText: "disk full"},
		{name: "ripcord error", err: held, wantCode: ripcord.ECONFLICT, wantHint: held.Hint, wantText: held.Message},
		{name: "wrapped", err: fmt.Errorf("launch step db: %w", held), wantCode: ripcord.ECONFLICT, wantHint: held.Hint, wantText: "launch step db: " + held.Message},
		{name: "joined", err: errors.Join(errors.New("first"), held), wantCode: ripcord.ECONFLICT, wantHint: held.Hint, wantText: "first\n" + held.Message},
		{name: "errorf", err: ripcord.Errorf(ripcord.ENOTFOUND, "plan %q not found", "web"), wantCode: ripcord.ENOTFOUND, wantHint: "", wantText: `plan "web" not found`},
		{name: "no message", err: &ripcord.Error{Code: ripcord.EUNAVAILABLE}, wantCode: ripcord.EUNAVAILABLE, wantHint: "", wantText: ripcord.EUNAVAILABLE},
		{name: "invalid", err: &ripcord.Error{Code: ripcord.EINVALID, Message: "bad", Hint: "fix it"}, wantCode: ripcord.EINVALID, wantHint: "fix it", wantText: "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ripcord.ErrorCode(tt.err); got != tt.wantCode {
				t.Errorf("ErrorCode() = %q, want %q", got, tt.wantCode)
			}
			if got := ripcord.ErrorHint(tt.err); got != tt.wantHint {
				t.Errorf("ErrorHint() = %q, want %q", got, tt.wantHint)
			}
			if tt.err != nil {
				if got := tt.err.Error(); got != tt.wantText {
					t.Errorf("Error() = %q, want %q", got, tt.wantText)
				}
			}
		})
	}
}
