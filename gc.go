package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/server"
)

func newGCCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "gc",
		Short: "Delete every block no pin references, and report what was freed",
		Long: `Garbage collection keeps every block reachable from a pin record (of any
account, in any state) and deletes the rest. It is safe while uploads and
pin fetches run: uploads wait for the sweep, then go on. It runs inside the
server when one runs on --data (or at --server, with an admin key), else on
the data directory directly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var res server.GCResult
			if serverReachable(g) {
				c, err := connect(g)
				if err != nil {
					return err
				}
				defer c.close()
				if err := c.do(cmd.Context(), "POST", "/admin/gc", nil, &res); err != nil {
					return err
				}
			} else {
				l, err := openLocal(cmd.Context(), g)
				if err != nil {
					return err
				}
				defer l.close()
				if res, err = l.srv.CollectGarbage(cmd.Context()); err != nil {
					return err
				}
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "freed %d blocks, %d bytes (%d live roots, %.0f ms)\n",
				res.Blocks, res.Bytes, res.Roots, res.DurationMS)
			return nil
		},
	}
}

// serverReachable reports whether client commands should go through a
// server: --server is set, or a server answers on the data dir's socket.
func serverReachable(g *globalFlags) bool {
	if g.server != "" {
		return true
	}
	conn, err := net.DialTimeout("unix", sockPath(g.dataDir), time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// local is a stopped server's data directory opened in-process: the store,
// an offline node on loopback, and a Server over both.
type local struct {
	srv   *server.Server
	node  *node.Node
	close func()
}

func openLocal(ctx context.Context, g *globalFlags) (*local, error) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, hasher, err := openExistingStore(g.dataDir, logger)
	if err != nil {
		return nil, err
	}
	nd, err := node.New(ctx, node.Config{
		DataDir:     g.dataDir,
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		Offline:     true,
		Logger:      logger,
	})
	if err != nil {
		st.Close(context.Background())
		return nil, err
	}
	srv := server.New(server.Config{Version: version, Logger: logger}, server.Deps{Store: st, Node: nd, Hasher: hasher})
	return &local{srv: srv, node: nd, close: func() {
		nd.Close(context.Background())
		st.Close(context.Background())
	}}, nil
}

// periodicGC collects garbage every interval until ctx is done.
func periodicGC(ctx context.Context, srv *server.Server, interval time.Duration, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := srv.CollectGarbage(ctx); err != nil && ctx.Err() == nil {
			logger.Error("periodic gc", "err", err)
		}
	}
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(name); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

func envInt(name string, def int) int {
	if v, ok := os.LookupEnv(name); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}
