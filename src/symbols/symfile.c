/* libdwfl gives symbol-table names (.symtab, else .dynsym); libdw's DIE
 * tree gives the inline chain. Names are demangled with libiberty, keeping
 * the mangled name as system_name. libdwfl only ever sees sealed memfd
 * copies (ddprof_elf_copy_fd), of the file and of its debug file, so a
 * file truncated under us cannot fault its mappings. */
#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <libiberty/demangle.h>

#include "common/log.h"
#include "ddprof/error.h"
#include "symbols/debug_inflate.h"
#include "symbols/symfile.h"

/* Opens dir/name (dir may be NULL) and returns a sealed copy of it, or -1.
 * crc, when not 0, is the CRC-32 of the whole file (.gnu_debuglink). */
static int debug_copy(const char *dir, const char *name, GElf_Word crc,
		      char **found)
{
	char path[4096];
	size_t size;
	int fd, copy, inflated;

	if (dir)
		snprintf(path, sizeof(path), "%s/%s", dir, name);
	else
		snprintf(path, sizeof(path), "%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	copy = ddprof_elf_copy_fd(fd, &size);
	close(fd);
	if (copy < 0)
		return -1;
	if (crc) {
		void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, copy, 0);
		uLong c = p == MAP_FAILED ? 0 : crc32(0, p, size);

		if (p != MAP_FAILED)
			munmap(p, size);
		if (c != crc) {
			close(copy);
			return -1;
		}
	}
	/* distribution debug files have their sections compressed, which
	 * libdw would inflate, all of them, with zlib on open */
	inflated = ddprof_debug_inflate(copy);
	if (inflated >= 0) {
		close(copy);
		copy = inflated;
	}
	*found = strdup(path);
	return copy;
}

/* Opens /usr/lib/debug/.build-id/xx/yyyy.debug for build id (bits, len)
 * and returns a sealed copy of it, or -1. */
static int build_id_copy(const unsigned char *bits, int len, char **found)
{
	char name[2 * DDPROF_ELF_MAX_BUILD_ID + 32];
	int n;

	if (len < 2 || len > DDPROF_ELF_MAX_BUILD_ID)
		return -1;
	n = snprintf(name, sizeof(name), "%02x/", bits[0]);
	for (int i = 1; i < len; i++)
		n += snprintf(name + n, sizeof(name) - n, "%02x", bits[i]);
	snprintf(name + n, sizeof(name) - n, ".debug");
	return debug_copy("/usr/lib/debug/.build-id", name, 0, found);
}

/* Finds the separate debug file as libdwfl's standard search would (by
 * build id under /usr/lib/debug, then .gnu_debuglink next to the file and
 * in its .debug/), but hands over a private copy:
 * the standard search maps the file itself. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata,
			  const char *modname, Dwarf_Addr base,
			  const char *file_name, const char *debuglink,
			  GElf_Word crc, char **found)
{
	const unsigned char *bits = NULL;
	char dir[4096], *slash = NULL;
	GElf_Addr vaddr;
	int fd, nbits;

	(void)userdata, (void)modname, (void)base;
	if (file_name) {
		snprintf(dir, sizeof(dir), "%s", file_name);
		slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
	}
	/* crc 0: the dwz alt file, which set_alt() opens (not this search) */
	if (debuglink && !crc)
		return -1;
	/* two statements: argument evaluation order would leave bits unset */
	nbits = dwfl_module_build_id(mod, &bits, &vaddr);
	fd = build_id_copy(bits, nbits, found);
	if (fd >= 0 || !debuglink || !slash || strchr(debuglink, '/'))
		return fd;
	fd = debug_copy(dir, debuglink, crc, found);
	if (fd < 0 && strlen(dir) + 8 < sizeof(dir)) {
		strcat(dir, "/.debug");
		fd = debug_copy(dir, debuglink, crc, found);
	}
	return fd;
}

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = NULL,
	.find_debuginfo = find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

/* The vdso exists only in memory: hand libdwfl a copy in a memfd. */
static int vdso_fd(const struct ddprof_elf_image *img)
{
	int fd = memfd_create("vdso", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (write(fd, img->data, img->size) != (ssize_t)img->size) {
		close(fd);
		return -DDPROF_ERR_IO;
	}
	return fd;
}

/* Gives dw its dwz alt file (.gnu_debugaltlink) from a sealed copy:
 * by the alt's build id, else by its path (absolute, or relative to the
 * debug file and, as libdw's own fallback would read it, to "/"). Returns
 * 0 (also when dw needs none) or -1: then libdw would search and map the
 * file itself on first use, so dw must not be used. */
static int set_alt(struct ddprof_symfile *f, Dwarf *dw)
{
	const char *altname, *main_name = NULL, *debug_name = NULL;
	char dir[4096], *slash, *found = NULL;
	const void *id;
	ssize_t len = dwelf_dwarf_gnu_debugaltlink(dw, &altname, &id);

	if (len <= 0)
		return 0;
	dwfl_module_info(f->mod, NULL, NULL, NULL, NULL, NULL, &main_name,
			 &debug_name);
	snprintf(dir, sizeof(dir), "%s", debug_name ? debug_name :
		 main_name ? main_name : "");
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	f->alt_fd = build_id_copy(id, len, &found);
	if (f->alt_fd < 0 && altname[0] != '/' && slash)
		f->alt_fd = debug_copy(dir, altname, 0, &found);
	if (f->alt_fd < 0)
		f->alt_fd = debug_copy(altname[0] == '/' ? NULL : "", altname, 0,
				       &found);
	free(found);
	if (f->alt_fd < 0)
		return -1;
	f->alt_elf = elf_begin(f->alt_fd, ELF_C_READ_MMAP, NULL);
	f->alt_dw = f->alt_elf ? dwarf_begin_elf(f->alt_elf, DWARF_C_READ, NULL) :
				 NULL;
	if (!f->alt_dw)
		return -1;
	dwarf_setalt(dw, f->alt_dw);
	return 0;
}

/* Split DWARF (-gsplit-dwarf) is refused: libdw would open each unit's
 * .dwo file by a path the file names (anywhere) and map it itself, out
 * of reach of our copies. Walking the unit headers opens none. */
static bool usable_dwarf(struct ddprof_symfile *f, Dwarf *dw)
{
	Dwarf_CU *cu = NULL;
	uint8_t type;

	if (!dw)
		return false;
	if (set_alt(f, dw)) {
		pr_debug("symbols: %s: dwz alt file not found: DWARF ignored",
			 f->base);
		return false;
	}
	while (dwarf_get_units(dw, cu, &cu, NULL, &type, NULL, NULL) == 0)
		if (type == DW_UT_skeleton || type == DW_UT_split_compile ||
		    type == DW_UT_split_type) {
			pr_debug("symbols: split DWARF ignored (.dwo files are "
				 "not read)");
			return false;
		}
	return true;
}

/* Takes img and fd (consumed) and sets up libdwfl over them. */
static int symfile_init(struct ddprof_symfile **out,
			struct ddprof_elf_image *img, int fd,
			const char *file_name)
{
	struct ddprof_symfile *f = calloc(1, sizeof(*f));
	Dwfl_Module *mod;
	Dwarf_Addr bias;
	Dwfl *dwfl;
	const char *slash;

	if (!f) {
		close(fd);
		ddprof_elf_image_free(img);
		return -ENOMEM;
	}
	f->img = img;
	f->alt_fd = -1;
	ddprof_arena_init(&f->arena);
	ddprof_u64map_init(&f->addrs);
	slash = strrchr(img->name, '/');
	f->base = slash ? slash + 1 : img->name;
	dwfl = dwfl_begin(&dwfl_callbacks);
	if (!dwfl) {
		close(fd);
		ddprof_symfile_free(f);
		return -ENOMEM;
	}
	f->dwfl = dwfl;
	/* base 0, no p_vaddr: module addresses are the file's vaddrs; the
	 * module owns fd from here */
	mod = dwfl_report_elf(dwfl, f->base, file_name, fd, 0, false);
	dwfl_report_end(dwfl, NULL, NULL);
	if (!mod) {
		close(fd);
		ddprof_symfile_free(f);
		return -DDPROF_ERR_FORMAT;
	}
	f->mod = mod;
	f->has_symbols = dwfl_module_getsymtab(mod) > 0;
	f->has_dwarf = usable_dwarf(f, dwfl_module_getdwarf(mod, &bias));
	*out = f;
	return 0;
}

int ddprof_symfile_open(struct ddprof_symfile **out, pid_t pid,
			const struct ddprof_map *map)
{
	struct ddprof_elf_image *img;
	char path[4096 + 64];
	int fd, err;

	if (!strcmp(map->path, "[vdso]")) {
		err = ddprof_elf_image_open(&img, pid, map);
		if (err)
			return err;
		fd = vdso_fd(img);
		snprintf(path, sizeof(path), "[vdso]");
	} else {
		int file = ddprof_elf_file_open(pid, map, path, sizeof(path));

		if (file < 0)
			return file;
		err = ddprof_elf_image_from_fd(&img, file, map, &fd);
		close(file);
		if (err)
			return err;
	}
	if (fd < 0) {
		ddprof_elf_image_free(img);
		return fd;
	}
	return symfile_init(out, img, fd, path);
}

int ddprof_symfile_open_path(struct ddprof_symfile **out, const char *path)
{
	struct ddprof_map map = { .path = path };
	struct ddprof_elf_image *img;
	int fd, file = open(path, O_RDONLY | O_CLOEXEC), err;
	struct stat st;

	if (file < 0)
		return -errno;
	if (fstat(file, &st)) {
		err = -errno;
		close(file);
		return err;
	}
	map.dev = st.st_dev;
	map.ino = st.st_ino;
	err = ddprof_elf_image_from_fd(&img, file, &map, &fd);
	close(file);
	if (err)
		return err;
	return symfile_init(out, img, fd, path);
}

void ddprof_symfile_free(struct ddprof_symfile *f)
{
	if (!f)
		return;
	if (f->dwfl)
		dwfl_end(f->dwfl);
	if (f->alt_dw)
		dwarf_end(f->alt_dw);
	if (f->alt_elf)
		elf_end(f->alt_elf);
	if (f->alt_fd >= 0)
		close(f->alt_fd);
	ddprof_symfile_clear(f);
	ddprof_elf_image_free(f->img);
	free(f);
}

void ddprof_symfile_clear(struct ddprof_symfile *f)
{
	ddprof_arena_reset(&f->arena);
	ddprof_u64map_fini(&f->addrs);
}

/* Collects the subprogram and inlined-subroutine DIEs containing pc, from
 * the outermost down, into chain; returns the new count. Namespaces and
 * classes have no ranges but hold C++ definitions: look inside. */
static int collect(Dwarf_Die *parent, Dwarf_Addr pc, Dwarf_Die *chain, int n)
{
	Dwarf_Die child;

	if (dwarf_child(parent, &child))
		return n;
	do {
		int tag = dwarf_tag(&child);

		switch (tag) {
		case DW_TAG_namespace:
		case DW_TAG_class_type:
		case DW_TAG_structure_type: {
			int m = collect(&child, pc, chain, n);

			if (m > n)
				return m;
			break;
		}
		case DW_TAG_subprogram:
		case DW_TAG_inlined_subroutine:
		case DW_TAG_lexical_block:
			if (dwarf_haspc(&child, pc) != 1)
				break;
			if (tag != DW_TAG_lexical_block) {
				if (n == DDPROF_SYMFILE_MAX_INLINE)
					return n;
				chain[n++] = child;
			}
			return collect(&child, pc, chain, n);
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return n;
}

static const char *die_linkage_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;

	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &a) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a))
		return dwarf_formstring(&a);
	return dwarf_diename(die);
}

/* Fills line l's names from the (possibly mangled) name. */
static int set_names(struct ddprof_arena *a, struct ddprof_symbol_line *l,
		     const char *sys)
{
	char *dem = NULL, unversioned[512];
	const char *at;

	if (!sys)
		sys = "";
	/* "memcpy@@GLIBC_2.14": the symbol version is not part of the name
	 * (perf and pprof show the bare name; samples must aggregate) */
	at = strchr(sys, '@');
	if (at && at > sys && (size_t)(at - sys) < sizeof(unversioned)) {
		memcpy(unversioned, sys, at - sys);
		unversioned[at - sys] = '\0';
		sys = unversioned;
	}
	if (sys[0] == '_' && (sys[1] == 'Z' || sys[1] == 'R'))
		/* auto style: Rust (legacy and v0) first, then C++; an
		 * explicit DMGL_RUST would refuse every C++ name */
		dem = cplus_demangle(sys, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
	l->system_name = ddprof_arena_str(a, sys);
	l->name = dem ? ddprof_arena_str(a, dem) : l->system_name;
	free(dem);
	return l->name && l->system_name ? 0 : -ENOMEM;
}

static uint32_t udata_attr(Dwarf_Die *die, int name)
{
	Dwarf_Attribute a;
	Dwarf_Word w = 0;

	if (dwarf_attr(die, name, &a))
		dwarf_formudata(&a, &w);
	return w;
}

/* DWARF lines for a, innermost first; returns how many (0: none). */
static int dwarf_lines(struct ddprof_symfile *f, Dwarf_Addr a,
		       const char *symname, struct ddprof_symbol_line *out)
{
	Dwarf_Die chain[DDPROF_SYMFILE_MAX_INLINE], *cu;
	Dwarf_Files *files = NULL;
	Dwarf_Addr bias;
	Dwfl_Line *dl;
	const char *file = NULL;
	size_t nfiles = 0;
	int n, line = 0, k = 0;

	cu = dwfl_module_addrdie(f->mod, a, &bias);
	if (!cu)
		return 0;
	n = collect(cu, a - bias, chain, 0);
	if (!n)
		return 0;
	dl = dwfl_module_getsrc(f->mod, a);
	if (dl)
		file = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);
	dwarf_getsrcfiles(cu, &files, &nfiles);
	for (int i = n - 1; i >= 0; i--, k++) {
		struct ddprof_symbol_line *l = &out[k];
		int start = 0;

		/* the real function is named as the symbol table has it */
		if (set_names(&f->arena, l, i == 0 && symname ? symname :
				  die_linkage_name(&chain[i])))
			return -ENOMEM;
		l->file = ddprof_arena_str(&f->arena, file);
		if (!l->file)
			return -ENOMEM;
		l->line = line > 0 ? line : 0;
		dwarf_decl_line(&chain[i], &start);
		l->start_line = start > 0 ? start : 0;
		/* the caller's line is where this instance was inlined */
		if (i > 0) {
			uint32_t fi = udata_attr(&chain[i], DW_AT_call_file);

			line = udata_attr(&chain[i], DW_AT_call_line);
			file = files && fi < nfiles ?
				dwarf_filesrc(files, fi, NULL, NULL) : NULL;
		}
	}
	return k;
}

const struct ddprof_sym_entry *ddprof_symfile_lookup(struct ddprof_symfile *f,
						     uint64_t vaddr,
						     bool call_site)
{
	struct ddprof_symbol_line lines[DDPROF_SYMFILE_MAX_INLINE];
	uint64_t key = vaddr << 1 | call_site, *v = ddprof_u64map_get(&f->addrs, key);
	Dwarf_Addr a = vaddr - call_site;
	struct ddprof_sym_entry *e;
	const char *symname = NULL;
	int n = 0;

	if (v) {
		f->addr_hits++;
		return (const void *)(uintptr_t)*v;
	}
	memset(lines, 0, sizeof(lines));
	if (f->has_symbols) {
		GElf_Off off;
		GElf_Sym sym;

		symname = dwfl_module_addrinfo(f->mod, a, &off, &sym, NULL,
					       NULL, NULL);
		if (symname && sym.st_size && off >= sym.st_size)
			symname = NULL; /* past the end: not this symbol */
	}
	if (f->has_dwarf)
		n = dwarf_lines(f, a, symname, lines);
	if (n < 0)
		return NULL;
	if (!n) {
		char buf[512];

		if (!symname) {
			snprintf(buf, sizeof(buf), "%s+0x%" PRIx64, f->base, vaddr);
			symname = buf;
		}
		if (set_names(&f->arena, &lines[0], symname))
			return NULL;
		lines[0].file = "";
		n = 1;
	}
	e = ddprof_arena_alloc(&f->arena, sizeof(*e) + n * sizeof(lines[0]));
	if (!e)
		return NULL;
	e->nr = n;
	memcpy(e->lines, lines, n * sizeof(lines[0]));
	/* failing to cache costs only a later re-resolution */
	ddprof_u64map_put(&f->addrs, key, (uintptr_t)e);
	return e;
}
