package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"hotline"
	"hotline/auth"
	"hotline/store"
)

// UserCommand is one `hotline user …` command: account and token changes
// made by the operator on the server, audited as "cli:<login name>".
type UserCommand struct {
	ConfigPath string
	Command    string // add, passwd, disable, enable, list, token, tokens, revoke-token
	ID         string // the account
	Name       string // the person's name (add), or the token's name (token, revoke-token)
	Roles      string // add: agent, supervisor, admin, comma-separated
	Expires    string // token: 90d, 12h, …
	Stdin      io.Reader
	Stdout     io.Writer
	Stderr     io.Writer
}

// RunUser runs one user command against the configured database. The
// password of add and passwd is read from the terminal (asked twice,
// without echo) or, when stdin is not a terminal, from its first line; never
// from a flag, which would leave it in the shell history and the process list.
func RunUser(ctx context.Context, c UserCommand) error {
	cfg, err := LoadConfig(c.ConfigPath)
	if err != nil {
		return err
	}
	log := NewLogger(LogConfig{Level: "error", Format: "text"}, c.Stderr)
	db, err := store.Open(ctx, cfg.Store, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	// The roster entries agents' accounts link to.
	if _, err := loadAgents(ctx, db, cfg.Agents, time.Now); err != nil {
		return err
	}
	svc, err := auth.New(cfg.Auth, auth.Deps{DB: db, Log: log})
	if err != nil {
		return err
	}
	by := hotline.Actor{ID: "cli:" + operatorName(), Method: hotline.AuthCLI}
	need := func(field, value string) error {
		if strings.TrimSpace(value) == "" {
			return fmt.Errorf("user %s: -%s is required", c.Command, field)
		}
		return nil
	}
	switch c.Command {
	case "add":
		if err := errors.Join(need("id", c.ID), need("name", c.Name), need("role", c.Roles)); err != nil {
			return err
		}
		roles, err := hotline.ParseRoles(c.Roles)
		if err != nil {
			return err
		}
		pw, err := readPassword(c.Stdin, c.Stderr)
		if err != nil {
			return err
		}
		u, err := svc.AddUser(ctx, by, hotline.User{ID: c.ID, Name: c.Name, Roles: roles}, pw)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "user %s (%s) added with roles %s\n", u.ID, u.Name, hotline.JoinRoles(u.Roles))
	case "passwd":
		if err := need("id", c.ID); err != nil {
			return err
		}
		pw, err := readPassword(c.Stdin, c.Stderr)
		if err != nil {
			return err
		}
		if err := svc.SetPassword(ctx, by, c.ID, pw); err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "password of %s changed; its sessions have ended\n", c.ID)
	case "disable", "enable":
		if err := need("id", c.ID); err != nil {
			return err
		}
		if err := svc.SetDisabled(ctx, by, c.ID, c.Command == "disable"); err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "user %s %sd\n", c.ID, c.Command)
	case "list":
		users, err := svc.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLES\tSTATE")
		for _, u := range users {
			state := "enabled"
			if u.Disabled {
				state = "disabled since " + u.DisabledAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.ID, u.Name, hotline.JoinRoles(u.Roles), state)
		}
		return tw.Flush()
	case "token":
		if err := errors.Join(need("id", c.ID), need("name", c.Name), need("expires", c.Expires)); err != nil {
			return err
		}
		ttl, err := parseTTL(c.Expires)
		if err != nil {
			return err
		}
		secret, t, err := svc.CreateToken(ctx, by, c.ID, c.Name, ttl)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Stderr, "token %q of %s expires %s; it is shown once, only its hash is kept:\n", t.Name, t.UserID, t.ExpiresAt.Format(time.RFC3339))
		fmt.Fprintln(c.Stdout, secret)
	case "tokens":
		if err := need("id", c.ID); err != nil {
			return err
		}
		list, err := svc.ListTokens(ctx, c.ID)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCREATED\tEXPIRES\tLAST USED\tREVOKED")
		for _, t := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, stamp(t.CreatedAt), stamp(t.ExpiresAt), stamp(t.LastUsedAt), stamp(t.RevokedAt))
		}
		return tw.Flush()
	case "revoke-token":
		if err := errors.Join(need("id", c.ID), need("name", c.Name)); err != nil {
			return err
		}
		if err := svc.RevokeToken(ctx, by, c.ID, c.Name); err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "token %q of %s revoked\n", c.Name, c.ID)
	default:
		return fmt.Errorf("user: unknown command %q (add, passwd, disable, enable, list, token, tokens, revoke-token)", c.Command)
	}
	return nil
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}

// parseTTL reads a token lifetime: a number of days ("90d") or a Go
// duration ("12h").
func parseTTL(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("-expires %q: give whole days such as 90d, or a duration such as 12h", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("-expires %q: give whole days such as 90d, or a duration such as 12h", s)
	}
	return d, nil
}

// readPassword asks twice on a terminal, without echo, or reads the first
// line of a pipe.
func readPassword(in io.Reader, prompt io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(prompt, "password: ")
		first, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(prompt, "again: ")
		second, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(first) != string(second) {
			return "", errors.New("the two passwords differ")
		}
		return string(first), nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		return "", errors.New("read password: give it on standard input (one line) or run on a terminal")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// operatorName is who runs the command, for the audit log.
func operatorName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if v := os.Getenv("USER"); v != "" {
		return v
	}
	return "unknown"
}
