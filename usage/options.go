package usage

// Option configures New.
type Option interface{ apply(*Stats) }

type optionFunc func(*Stats)

func (f optionFunc) apply(u *Stats) { f(u) }

// WithBreakdownCaps bounds the breakdowns kept for drilling down (see
// Breakdown), per tenant, hour and breakdown: at most keys outer keys (an
// application, say) and, for each, at most perKey inner keys (its users),
// the tails folded into Other as in a dimension. So a tenant-hour holds
// at most 6·(keys+1)·(perKey+1) breakdown counts besides its
// 5·(maxPerDimension+1) dimension counts. keys or perKey <= 0 keeps no
// breakdowns. Default: DefaultBreakdownKeys, DefaultBreakdownPerKey.
func WithBreakdownCaps(keys, perKey int) Option {
	return optionFunc(func(u *Stats) {
		if keys <= 0 || perKey <= 0 {
			keys, perKey = 0, 0
		}
		u.pairKeys, u.pairPerKey = keys, perKey
	})
}
