package classifier

import (
	"math"
	"math/rand/v2"
	"slices"
)

// medoidRounds bounds the assign / update alternation; it converges in a
// handful of rounds in practice.
const medoidRounds = 100

// medoidRestarts is how many seedings are refined; the one with the least
// total distance wins. Like k-means, k-medoids settles in local minima
// (two medoids in one cluster, none in another), and a few restarts with
// greedy seeding make that rare.
const medoidRestarts = 3

// Medoids picks k representative vectors by k-medoids on cosine distance
// (1 - cosine) and returns their indices in ascending order. Seeding is
// greedy k-means++ (each next seed drawn with probability proportional to
// its squared distance from the nearest seed so far); then every vector is
// assigned to its nearest medoid and each cluster's medoid moved to the
// member with the least total distance to the others, until no medoid moves
// or a bounded number of rounds has run. Of a few such runs, the one with
// the least total distance wins.
//
// The result depends only on the vectors, k and seed. k ≥ len(vectors)
// returns every index; k ≤ 0 returns none. Vectors should share one
// dimension; they need not be unit length (they are normalised, and a zero
// vector is at distance 1 from everything). A round costs O(n·k·dim): a
// thousand 384-dimensional vectors into 10 medoids take about 40 ms.
func Medoids(vectors [][]float32, k int, seed uint64) []int {
	n := len(vectors)
	if k <= 0 || n == 0 {
		return []int{}
	}
	if k >= n {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return all
	}
	x := unitVectors(vectors)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var best []int
	bestCost := math.Inf(1)
	for range medoidRestarts {
		m, cost := refine(x, seedMedoids(x, k, rng))
		if best == nil || cost < bestCost { // NaN costs still give an answer
			best, bestCost = m, cost
		}
	}
	slices.Sort(best)
	return best
}

// refine alternates assignment and medoid update from the given medoids,
// and returns the final medoids and their total distance.
func refine(x [][]float64, medoids []int) ([]int, float64) {
	k := len(medoids)
	dim := 0
	for _, v := range x {
		dim = max(dim, len(v))
	}
	assign := make([]int, len(x))
	sums := make([][]float64, k)
	for c := range sums {
		sums[c] = make([]float64, dim)
	}
	var cost float64
	for round := 0; ; round++ {
		// Assign each vector to its nearest medoid (ties to the first).
		cost = 0
		for i := range x {
			best, bestSim := 0, math.Inf(-1)
			for c, m := range medoids {
				if s := dot64(x[i], x[m]); s > bestSim {
					best, bestSim = c, s
				}
			}
			assign[i] = best
			cost += 1 - bestSim
		}
		if round == medoidRounds {
			break
		}
		// For unit vectors, a member's total distance to its cluster is
		// |C| - member·Σ(C), so the medoid is the member with the largest
		// dot product with the cluster's sum: exact, in O(|C|·dim).
		for c := range sums {
			clear(sums[c])
		}
		for i, c := range assign {
			for j, v := range x[i] {
				sums[c][j] += v
			}
		}
		moved := false
		for c := range medoids {
			best, bestScore := medoids[c], dot64(x[medoids[c]], sums[c])
			for i, a := range assign {
				if a != c || i == medoids[c] {
					continue
				}
				// Move only on a strict gain (with slack for rounding), so
				// the alternation cannot cycle.
				if s := dot64(x[i], sums[c]); s > bestScore+1e-9 {
					best, bestScore = i, s
				}
			}
			if best != medoids[c] {
				medoids[c], moved = best, true
			}
		}
		if !moved {
			break
		}
	}
	return medoids, cost
}

// seedMedoids picks k distinct starting medoids by greedy k-means++: each
// step draws a few candidates with probability proportional to their
// squared distance from the nearest medoid so far, and keeps the one that
// most reduces the sum of those squared distances.
func seedMedoids(x [][]float64, k int, rng *rand.Rand) []int {
	n := len(x)
	trials := 2 + int(math.Log(float64(k)))
	chosen := make([]bool, n)
	first := rng.IntN(n)
	medoids := []int{first}
	chosen[first] = true
	near := make([]float64, n) // squared distance to the nearest medoid
	for i := range x {
		near[i] = sq(cosDistance(x[i], x[first]))
	}
	cand := make([]float64, n)
	bestNear := make([]float64, n)
	for len(medoids) < k {
		var total float64
		for i, d := range near {
			if !chosen[i] {
				total += d
			}
		}
		next := -1
		if total > 0 {
			bestPot := math.Inf(1)
			for range trials {
				r := rng.Float64() * total
				c := -1
				for i, d := range near {
					if chosen[i] || d == 0 {
						continue
					}
					c = i
					if r -= d; r < 0 {
						break
					}
				}
				var pot float64
				for i := range x {
					cand[i] = min(near[i], sq(cosDistance(x[i], x[c])))
					pot += cand[i]
				}
				if pot < bestPot {
					next, bestPot = c, pot
					copy(bestNear, cand)
				}
			}
			copy(near, bestNear)
		} else {
			// Every vector left coincides with a medoid: take the first.
			for i := range chosen {
				if !chosen[i] {
					next = i
					break
				}
			}
		}
		medoids = append(medoids, next)
		chosen[next] = true
	}
	return medoids
}

func unitVectors(vectors [][]float32) [][]float64 {
	out := make([][]float64, len(vectors))
	for i, v := range vectors {
		u := make([]float64, len(v))
		var norm float64
		for j, f := range v {
			u[j] = float64(f)
			norm += u[j] * u[j]
		}
		if norm > 0 {
			norm = math.Sqrt(norm)
			for j := range u {
				u[j] /= norm
			}
		}
		out[i] = u
	}
	return out
}

func dot64(a, b []float64) float64 {
	var s float64
	for i := range min(len(a), len(b)) {
		s += a[i] * b[i]
	}
	return s
}

// cosDistance is the cosine distance of unit vectors, clamped at 0 against
// rounding.
func cosDistance(a, b []float64) float64 { return max(0, 1-dot64(a, b)) }

func sq(f float64) float64 { return f * f }
