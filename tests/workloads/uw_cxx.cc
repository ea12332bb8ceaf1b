// Unwinding workload in C++: namespaces, templates, methods, so that
// names must be demangled. Usage: uw_cxx [seconds] [wait]
#include <cstdint>
#include <cstdlib>

extern "C" {
#include "uw_common.h"
}

namespace uw {
template <typename T> struct Worker {
	T state;
	__attribute__((noinline)) T run(T n)
	{
		for (T i = 0; i < n; i++)
			state = state * 6364136223846793005ULL + i;
		return state;
	}
};

__attribute__((noinline)) uint64_t drive(Worker<uint64_t> &w, int rounds)
{
	uint64_t x = 0;

	for (int i = 0; i < rounds; i++)
		x += w.run(100000);
	return x;
}
} // namespace uw

static volatile uint64_t sink;

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2;
	double end = uw_now() + seconds;
	uw::Worker<uint64_t> w{1};

	while (uw_now() < end)
		sink += uw::drive(w, 10);
	uw_done(argc, argv);
	return 0;
}
