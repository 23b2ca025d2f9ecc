package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchyard-router/switchyard/auth"
)

func keysCmd(e env) *cobra.Command {
	var (
		cf configFlags
		db string
	)
	// withStore runs f on the key store, opened for it and closed after.
	withStore := func(f func(cmd *cobra.Command, args []string, ks *auth.Store) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			s, err := openStore(cmd, e, &cf, db)
			if err != nil {
				return err
			}
			defer s.Close()
			ks, err := auth.NewStore(cmd.Context(), s.DB())
			if err != nil {
				return err
			}
			return f(cmd, args, ks)
		}
	}
	cmd := &cobra.Command{
		Use:   "keys create|list|show|revoke",
		Short: "Manage the client API keys kept in the key store",
		Long: "keys manages client API keys at run time, beside those in the config's\n" +
			"api_keys. They live, hashed, in the usage store (the config's usage section:\n" +
			"its SQLite file or PostgreSQL database; or the SQLite file --db); a running\n" +
			"server picks up changes within 5 s (POST/DELETE /admin/keys at once).",
	}
	cf.registerPersistent(cmd)
	cmd.PersistentFlags().StringVar(&db, "db", "", "SQLite store file (default: the config's usage store)")

	var (
		roles, models          []string
		expires                string
		rpm, tpm, rpd, tpd     int
		budgetDay, budgetMonth float64
	)
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a key and print it, this once",
		Args:  cobra.ExactArgs(1),
		RunE: withStore(func(cmd *cobra.Command, args []string, ks *auth.Store) error {
			k := auth.Key{Name: args[0], Roles: roles, Models: models,
				RequestsPerMinute: rpm, TokensPerMinute: tpm, RequestsPerDay: rpd, TokensPerDay: tpd,
				BudgetDay: budgetDay, BudgetMonth: budgetMonth}
			if expires != "" {
				t, err := time.Parse(time.RFC3339, expires)
				if err != nil {
					return fmt.Errorf("--expires: want an RFC 3339 time such as 2027-01-01T00:00:00Z")
				}
				k.Expires = t
			}
			secret, err := ks.Create(cmd.Context(), k)
			if err != nil {
				return fmt.Errorf("key %q: %w", k.Name, err)
			}
			fmt.Fprintln(e.stdout, secret)
			fmt.Fprintf(e.stderr, "switchyard: key %q created; this is the only time it is shown (only its hash is kept)\n", k.Name)
			return nil
		}),
	}
	create.Flags().StringSliceVar(&roles, "role", nil, "role: user (default) or admin; repeat or comma-separate")
	create.Flags().StringSliceVar(&models, "models", nil, "models, routes and aliases the key may use (default any)")
	create.Flags().StringVar(&expires, "expires", "", "when the key stops working, RFC 3339")
	create.Flags().IntVar(&rpm, "rpm", 0, "requests per minute (0 = no limit)")
	create.Flags().IntVar(&tpm, "tpm", 0, "tokens per minute (0 = no limit)")
	create.Flags().IntVar(&rpd, "rpd", 0, "requests per day (0 = no limit)")
	create.Flags().IntVar(&tpd, "tpd", 0, "tokens per day (0 = no limit)")
	create.Flags().Float64Var(&budgetDay, "budget-day", 0, "spend budget in USD per UTC day (0 = none)")
	create.Flags().Float64Var(&budgetMonth, "budget-month", 0, "spend budget in USD per UTC month (0 = none)")

	var asJSON bool
	list := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the stored keys (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: withStore(func(cmd *cobra.Command, _ []string, ks *auth.Store) error {
			keys, err := ks.List(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(e.stdout).Encode(keys)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLES\tSTATE\tEXPIRES\tMODELS\tRPM\tTPM\tRPD\tTPD\tUSD/DAY\tUSD/MONTH")
			for _, k := range keys {
				exp, ms := "never", "any"
				if !k.Expires.IsZero() {
					exp = k.Expires.Format(time.RFC3339)
				}
				if len(k.Models) > 0 {
					ms = strings.Join(k.Models, ",")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%g\t%g\n", k.Name, strings.Join(k.Roles, ","), keyState(k), exp, ms,
					k.RequestsPerMinute, k.TokensPerMinute, k.RequestsPerDay, k.TokensPerDay, k.BudgetDay, k.BudgetMonth)
			}
			return tw.Flush()
		}),
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	revoke := &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke a stored key for good",
		Args:  cobra.ExactArgs(1),
		RunE: withStore(func(cmd *cobra.Command, args []string, ks *auth.Store) error {
			if err := ks.Revoke(cmd.Context(), args[0]); err != nil {
				return fmt.Errorf("key %q: %w", args[0], err)
			}
			fmt.Fprintf(e.stderr, "switchyard: key %q revoked\n", args[0])
			return nil
		}),
	}
	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Show one stored key (never its secret)",
		Args:  cobra.ExactArgs(1),
		RunE: withStore(func(cmd *cobra.Command, args []string, ks *auth.Store) error {
			keys, err := ks.List(cmd.Context())
			if err != nil {
				return err
			}
			for _, k := range keys {
				if k.Name != args[0] {
					continue
				}
				if asJSON {
					return json.NewEncoder(e.stdout).Encode(k)
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				models := "any"
				if len(k.Models) > 0 {
					models = strings.Join(k.Models, ", ")
				}
				exp := "never"
				if !k.Expires.IsZero() {
					exp = k.Expires.Format(time.RFC3339)
				}
				for _, row := range [][2]string{
					{"name", k.Name}, {"roles", strings.Join(k.Roles, ", ")}, {"state", keyState(k)},
					{"created", k.Created.Format(time.RFC3339)}, {"expires", exp}, {"models", models},
					{"requests per minute", limit(k.RequestsPerMinute)}, {"tokens per minute", limit(k.TokensPerMinute)},
					{"requests per day", limit(k.RequestsPerDay)}, {"tokens per day", limit(k.TokensPerDay)},
					{"budget per day", budget(k.BudgetDay)}, {"budget per month", budget(k.BudgetMonth)},
				} {
					fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
				}
				return tw.Flush()
			}
			return fmt.Errorf("key %q: %w", args[0], auth.ErrNoSuchKey)
		}),
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(create, list, show, revoke)
	return cmd
}

// keyState is a stored key's state as listed.
func keyState(k auth.KeyInfo) string {
	switch {
	case k.Revoked:
		return "revoked"
	case !k.Enabled:
		return "disabled"
	case !k.Expires.IsZero() && time.Now().After(k.Expires):
		return "expired"
	}
	return "enabled"
}

func limit(n int) string {
	if n == 0 {
		return "none"
	}
	return strconv.Itoa(n)
}

func budget(usd float64) string {
	if usd == 0 {
		return "none"
	}
	return fmt.Sprintf("%g USD", usd)
}
