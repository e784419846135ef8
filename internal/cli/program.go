package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// Program is one binary made of subcommands: shardline (Shardline) or the lab's shardline-lab.
type Program struct {
	// Name is the binary's name in the usage text and in error messages.
	Name string
	// Commands are its subcommands, listed in this order by the usage text.
	Commands []Command
}

// Main runs the command named by args[0] and returns the process exit status: 0 on success
// (and for -h), exitUsage (2) on a usage error, else the status the command's error asks for
// (exitError, 1, unless it is an *exitStatus).
func (p Program) Main(ctx context.Context, args []string, env *Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		p.usage(env.Stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return 0
	}
	for _, c := range p.Commands {
		if c.Name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(env.Stderr, "%s %s: %v\n", p.Name, c.Name, err)
			return exitUsage
		default:
			fmt.Fprintf(env.Stderr, "%s %s: %v\n", p.Name, c.Name, err)
			return statusOf(err) // 1, or the status the command asks for (reconcile, redrive: 3)
		}
	}
	fmt.Fprintf(env.Stderr, "%s: unknown command %q\n\n", p.Name, args[0])
	p.usage(env.Stderr)
	return exitUsage
}

func (p Program) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s <command> [flags]\n\ncommands:\n", p.Name)
	for _, c := range p.Commands {
		if !c.Hidden {
			fmt.Fprintf(w, "  %-9s %s\n", c.Name, c.Summary)
		}
	}
	fmt.Fprintf(w, "\nRun '%s <command> -h' for its flags. Every flag may be set as SHARDLINE_<FLAG>.\n", p.Name)
}
