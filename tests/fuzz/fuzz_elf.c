/* libFuzzer target: arbitrary bytes as an ELF file of a profiled process.
 * They are written to a file and loaded through the same code paths the
 * unwinder and symbolizer use: the validated image (program headers, build
 * id), the unwind table (.eh_frame_hdr handed to libunwind, the rules
 * computed from .eh_frame / .debug_frame through libdw), a whole remote
 * unwind of a synthetic sample whose pc lies in the file, and the libdwfl
 * symbol/DWARF lookups. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ddprof/log.h"
#include "perf/regs.h"
#include "symbols/symfile.h"
#include "unwind/cfi_table.h"
#include "unwind/elf_image.h"
#include "unwind/unwind.h"

#define MAP_START 0x100000000ULL
#define STACK_ADDR 0x7ff000000000ULL
#define STACK_LEN 512

static char dir[] = "/tmp/ddprof-fuzz-elf-XXXXXX";
static char path[64];
static struct ddprof_unwind *uw;
static volatile uint64_t sink;

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	ddprof_log_set(NULL, NULL, DDPROF_LOG_ERROR);
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/lib.so", dir);
	atexit(cleanup);
	if (ddprof_unwind_new(&uw))
		abort();
	return 0;
}

static const struct ddprof_map *find_map(void *arg, uint64_t addr)
{
	const struct ddprof_map *m = arg;

	return addr >= m->start && addr < m->end ? m : NULL;
}

static void touch_str(const char *s)
{
	sink += strlen(s);
}

static void image_checks(const struct ddprof_map *map)
{
	struct ddprof_elf_image *img;
	uint64_t bias;

	if (ddprof_elf_image_open_path(&img, path))
		return;
	for (unsigned i = 0; i < img->nr_loads; i++) {
		const struct ddprof_elf_load *l = &img->loads[i];
		const uint8_t *p;

		/* every load's file bytes lie inside the file */
		if (l->offset > img->size || l->filesz > img->size - l->offset)
			abort();
		if (!ddprof_elf_image_read(img, l->vaddr, l->filesz, &p) &&
		    l->filesz)
			sink += p[0] + p[l->filesz - 1];
	}
	if (img->eh_hdr_size &&
	    (img->eh_hdr_offset > img->size ||
	     img->eh_hdr_size > img->size - img->eh_hdr_offset))
		abort();
	(void)ddprof_elf_image_bias(img, map, &bias);
	touch_str(img->build_id_hex);
	ddprof_elf_image_free(img);
}

static void cfi_checks(const struct ddprof_map *map)
{
	struct ddprof_cfi_table *t;
	struct ddprof_cfi_rule r;

	if (ddprof_cfi_table_open(&t, getpid(), map))
		return;
	for (unsigned i = 0; i < t->img->nr_loads && i < 4; i++) {
		const struct ddprof_elf_load *l = &t->img->loads[i];

		if (!(l->flags & 1)) /* PF_X */
			continue;
		for (uint64_t off = 0; off < l->memsz && off < 256; off += 7) {
			ddprof_cfi_table_rule(t, l->vaddr + off, &r);
			if (r.kind > DDPROF_CFI_RULE_NONE)
				abort();
		}
	}
	ddprof_cfi_table_free(t);
}

static void unwind_checks(const struct ddprof_map *map, const uint8_t *data,
			  size_t size)
{
	static struct ddprof_unwind_result res;
	struct ddprof_elf_image *img;
	struct ddprof_perf_sample s;
	static uint8_t stack[STACK_LEN];
	uint64_t ip = MAP_START;

	if (ddprof_elf_image_open_path(&img, path))
		return;
	for (unsigned i = 0; i < img->nr_loads; i++)
		if (img->loads[i].flags & 1) {
			ip = MAP_START + img->loads[i].vaddr;
			if (size > 16 && data[16] < img->loads[i].memsz)
				ip += data[16];
			break;
		}
	ddprof_elf_image_free(img);
	memset(stack, 0, sizeof(stack));
	memcpy(stack, data, size < STACK_LEN ? size : STACK_LEN);
	memset(&s, 0, sizeof(s));
	s.pid = s.tid = (uint32_t)getpid();
	s.ip = ip;
	s.abi = 2; /* PERF_SAMPLE_REGS_ABI_64 */
	s.regs[DDPROF_PERF_REG_IP] = ip;
	s.regs[DDPROF_PERF_REG_SP] = STACK_ADDR;
	s.regs[DDPROF_PERF_REG_BP] = STACK_ADDR + 32;
	s.stack = stack;
	s.stack_size = s.dyn_size = STACK_LEN;
	if (!ddprof_unwind_sample(uw, &s, find_map, (void *)map, &res) &&
	    res.nr > DDPROF_UNWIND_MAX_DEPTH + 1)
		abort();
	/* the next input reuses the path (and maybe the inode) */
	ddprof_unwind_evict_file(uw, map->dev, map->ino);
	ddprof_unwind_forget_pid(uw, getpid());
}

static void symfile_checks(const uint8_t *data, size_t size)
{
	struct ddprof_symfile *f;

	if (ddprof_symfile_open_path(&f, path))
		return;
	for (unsigned i = 0; i < f->img->nr_loads; i++) {
		const struct ddprof_elf_load *l = &f->img->loads[i];

		for (uint64_t off = 0; off <= l->memsz && off < 256; off += 17) {
			const struct ddprof_sym_entry *e =
				ddprof_symfile_lookup(f, l->vaddr + off, off & 1);

			if (!e)
				continue;
			if (!e->nr || e->nr > DDPROF_SYMFILE_MAX_INLINE + 1)
				abort();
			for (unsigned k = 0; k < e->nr; k++) {
				touch_str(e->lines[k].name);
				touch_str(e->lines[k].system_name);
				touch_str(e->lines[k].file);
			}
		}
	}
	if (size >= 8) {
		uint64_t a;

		memcpy(&a, data, 8);
		(void)ddprof_symfile_lookup(f, a, false);
	}
	ddprof_symfile_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ddprof_map map;
	struct stat st;
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size || fstat(fd, &st))
		abort();
	close(fd);
	memset(&map, 0, sizeof(map));
	map.start = MAP_START;
	map.end = MAP_START + ((size + 0xfff) & ~0xfffULL) + 0x1000;
	map.prot = PROT_READ | PROT_EXEC;
	map.flags = MAP_PRIVATE;
	map.dev = st.st_dev;
	map.ino = st.st_ino;
	map.path = path;

	image_checks(&map);
	cfi_checks(&map);
	unwind_checks(&map, data, size);
	symfile_checks(data, size);
	return 0;
}
