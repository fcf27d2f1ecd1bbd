/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hydration state of a clone: an in-core bitmap with one bit per region,
 * backed by the metadata device (format in dm-clone-format.h). The target
 * never touches a metadata block; it asks and tells through this API.
 *
 * Durability contract: clone_md_set_hydrated() changes only the in-core
 * state; clone_md_commit() makes every change made before it started
 * durable, after flushing the destination so that no region is marked on
 * disk before its data is. Writes that land in a region whose bit is not yet
 * durable are counted (clone_md_note_write()); a FLUSH needs a commit only
 * while such writes exist (clone_md_flush_needs_commit()).
 */
#ifndef DM_CLONE_METADATA_H
#define DM_CLONE_METADATA_H

#include <linux/types.h>
#include <linux/device-mapper.h>

struct clone_metadata;

enum clone_md_mode {
	CLONE_MD_RW,		/* normal operation */
	CLONE_MD_RO,		/* a metadata write failed: no more changes */
	CLONE_MD_FAIL,		/* the metadata device is unusable: no I/O */
};

/*
 * Open the metadata of a clone, sharing the in-core state with a live table
 * of the same mapped device on the same metadata device (a table reload), or
 * reading it from disk (formatting a zeroed device). @nr_regions may exceed
 * what the metadata describes (version 2): a load from disk grows it before
 * it returns, a shared state at clone_md_grow(). On error returns an
 * ERR_PTR, sets *error to a short reason and logs the details.
 */
struct clone_metadata *clone_md_get(struct mapped_device *owner,
				    struct dm_dev *meta, struct dm_dev *dest,
				    struct dm_dev *source, sector_t region_size,
				    unsigned long nr_regions, char **error);
void clone_md_put(struct clone_metadata *cmd);
/*
 * Grow the clone to @nr_regions regions (no-op if it has as many): the new
 * regions are unhydrated, and the new geometry is durable on return (else
 * an error, logged, and the metadata is read-only). Only while no table
 * sharing @cmd takes I/O or hydrates: at the resume of a reloaded table,
 * which clone_md_get() let share the state of a smaller live one.
 */
int clone_md_grow(struct clone_metadata *cmd, struct block_device *dest,
		  unsigned long nr_regions);

bool clone_md_hydrated(struct clone_metadata *cmd, unsigned long region);
/* The first unhydrated region in [from, limit), or limit. */
unsigned long clone_md_next_unhydrated(struct clone_metadata *cmd,
				       unsigned long from, unsigned long limit);
/* The first hydrated region in [from, limit), or limit. */
unsigned long clone_md_next_hydrated(struct clone_metadata *cmd,
				     unsigned long from, unsigned long limit);
unsigned long clone_md_nr_hydrated(struct clone_metadata *cmd);

/* Mark [start, start + nr) hydrated in core; returns how many were not. */
unsigned long clone_md_set_hydrated(struct clone_metadata *cmd,
				    unsigned long start, unsigned long nr);

/* Are the bits of [start, start + nr) (known hydrated) durable on disk? */
bool clone_md_committed(struct clone_metadata *cmd, unsigned long start,
			unsigned long nr);
/*
 * A write was issued to hydrated regions [start, start + nr): track it if
 * one of their bits is not durable yet.
 */
void clone_md_note_write(struct clone_metadata *cmd, unsigned long start,
			 unsigned long nr);
/*
 * Copy the bits durable on disk (in one copy at least) into @map, of
 * nr_regions bits. Bits only ever get set: the copy may lack the newest.
 */
void clone_md_committed_map(struct clone_metadata *cmd, unsigned long *map);
bool clone_md_flush_needs_commit(struct clone_metadata *cmd);
bool clone_md_changed(struct clone_metadata *cmd);

/*
 * Commit: make every bit set before the call durable. A @quick commit
 * writes one copy of each changed block (one metadata flush); a full one
 * writes both and catches up the copies quick commits left behind.
 * *@dest_flushed (if not NULL) tells whether the destination was flushed
 * after the call began: then a FLUSH that arrived before it needs no flush
 * of its own.
 */
int clone_md_commit(struct clone_metadata *cmd, struct block_device *dest,
		    bool quick, bool *dest_flushed);
/*
 * After a failed commit: is our superblock still there? 0 if a copy is valid,
 * -EILSEQ if a readable copy is no longer ours (the device was written over),
 * else -EIO (unreadable, or damaged copies of ours: maybe a transient fault).
 */
int clone_md_check_superblock(struct clone_metadata *cmd);

enum clone_md_mode clone_md_mode(struct clone_metadata *cmd);
void clone_md_set_mode(struct clone_metadata *cmd, enum clone_md_mode mode);

/* For status: blocks the format uses and the device's size, in blocks. */
void clone_md_usage(struct clone_metadata *cmd, unsigned long long *used,
		    unsigned long long *total);

#endif /* DM_CLONE_METADATA_H */
