/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Trace events of the commit protocol (trace system dm_clone): what a clone
 * promises and what makes each promise good. docs/commit-model.md says what
 * each event stands for in the model; tests/tools/tracecheck.c checks a
 * recorded sequence against it.
 *
 * Every event carries seq, one counter for all events of the module, taken
 * when the event is recorded: events recorded under a lock, or one after
 * the other on one thread, are in seq order, whatever the CPUs' clocks say,
 * and a gap in seq means the ring buffer dropped events (or a filter did).
 * Each event names its clone by the metadata device (dev).
 *
 * Nothing here runs unless the event is enabled.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM dm_clone

#if !defined(DM_CLONE_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define DM_CLONE_TRACE_H

#include <linux/atomic.h>
#include <linux/kdev_t.h>
#include <linux/tracepoint.h>

extern atomic64_t clone_trace_seq;

/*
 * The metadata was loaded (or formatted) for a table: @ring is version 2's
 * ring slots (0 in version 1), @ring_pos the ring position after the records
 * load replayed.
 */
TRACE_EVENT(clone_load,
	TP_PROTO(dev_t dev, unsigned long nr_regions, unsigned long per_block,
		 unsigned long hydrated, unsigned long ring, u64 ring_pos),
	TP_ARGS(dev, nr_regions, per_block, hydrated, ring, ring_pos),
	TP_STRUCT__entry(
		__field(u64, seq)
		__field(dev_t, dev)
		__field(unsigned long, nr_regions)
		__field(unsigned long, per_block)
		__field(unsigned long, hydrated)
		__field(unsigned long, ring)
		__field(u64, ring_pos)
	),
	TP_fast_assign(
		__entry->seq = atomic64_inc_return(&clone_trace_seq);
		__entry->dev = dev;
		__entry->nr_regions = nr_regions;
		__entry->per_block = per_block;
		__entry->hydrated = hydrated;
		__entry->ring = ring;
		__entry->ring_pos = ring_pos;
	),
	TP_printk("seq=%llu dev=%d:%d regions=%lu per_block=%lu hydrated=%lu ring=%lu pos=%llu",
		  __entry->seq, MAJOR(__entry->dev), MINOR(__entry->dev),
		  __entry->nr_regions, __entry->per_block, __entry->hydrated,
		  __entry->ring, __entry->ring_pos)
);

/* Regions [start, end) hydrated in core (under the metadata's lock). */
TRACE_EVENT(clone_set,
	TP_PROTO(dev_t dev, unsigned long start, unsigned long end),
	TP_ARGS(dev, start, end),
	TP_STRUCT__entry(
		__field(u64, seq)
		__field(dev_t, dev)
		__field(unsigned long, start)
		__field(unsigned long, end)
	),
	TP_fast_assign(
		__entry->seq = atomic64_inc_return(&clone_trace_seq);
		__entry->dev = dev;
		__entry->start = start;
		__entry->end = end;
	),
	TP_printk("seq=%llu dev=%d:%d start=%lu end=%lu",
		  __entry->seq, MAJOR(__entry->dev), MINOR(__entry->dev),
		  __entry->start, __entry->end)
);

/*
 * A commit takes bitmap block @block's bits (under the metadata's lock):
 * copy @first is written first, then the other one if @both.
 */
TRACE_EVENT(clone_snapshot,
	TP_PROTO(dev_t dev, unsigned long block, unsigned int first, bool both),
	TP_ARGS(dev, block, first, both),
	TP_STRUCT__entry(
		__field(u64, seq)
		__field(dev_t, dev)
		__field(unsigned long, block)
		__field(unsigned int, first)
		__field(bool, both)
	),
	TP_fast_assign(
		__entry->seq = atomic64_inc_return(&clone_trace_seq);
		__entry->dev = dev;
		__entry->block = block;
		__entry->first = first;
		__entry->both = both;
	),
	TP_printk("seq=%llu dev=%d:%d block=%lu first=%u both=%d",
		  __entry->seq, MAJOR(__entry->dev), MINOR(__entry->dev),
		  __entry->block, __entry->first, __entry->both)
);

/* A step with an outcome: @err is 0 when it begins, and when it worked. */
DECLARE_EVENT_CLASS(clone_step,
	TP_PROTO(dev_t dev, int err),
	TP_ARGS(dev, err),
	TP_STRUCT__entry(
		__field(u64, seq)
		__field(dev_t, dev)
		__field(int, err)
	),
	TP_fast_assign(
		__entry->seq = atomic64_inc_return(&clone_trace_seq);
		__entry->dev = dev;
		__entry->err = err;
	),
	TP_printk("seq=%llu dev=%d:%d err=%d",
		  __entry->seq, MAJOR(__entry->dev), MINOR(__entry->dev),
		  __entry->err)
);

/* clone_md_commit(): quick (@err 1) or full (0), and its end. */
DEFINE_EVENT(clone_step, clone_commit_begin,
	TP_PROTO(dev_t dev, int quick), TP_ARGS(dev, quick));
DEFINE_EVENT(clone_step, clone_commit_end,
	TP_PROTO(dev_t dev, int err), TP_ARGS(dev, err));
/* The commit's flush of the destination, before any bitmap block. */
DEFINE_EVENT(clone_step, clone_dest_flush_begin,
	TP_PROTO(dev_t dev, int err), TP_ARGS(dev, err));
DEFINE_EVENT(clone_step, clone_dest_flush_end,
	TP_PROTO(dev_t dev, int err), TP_ARGS(dev, err));
/* A flush of the metadata device, after each pass of bitmap writes. */
DEFINE_EVENT(clone_step, clone_md_flush_begin,
	TP_PROTO(dev_t dev, int err), TP_ARGS(dev, err));
DEFINE_EVENT(clone_step, clone_md_flush_end,
	TP_PROTO(dev_t dev, int err), TP_ARGS(dev, err));

/* A write of copy @copy of bitmap blocks [block, block + count). */
DECLARE_EVENT_CLASS(clone_md_io,
	TP_PROTO(dev_t dev, unsigned long block, unsigned int count,
		 unsigned int copy, int err),
	TP_ARGS(dev, block, count, copy, err),
	TP_STRUCT__entry(
		__field(u64, seq)
		__field(dev_t, dev)
		__field(unsigned long, block)
		__field(unsigned int, count)
		__field(unsigned int, copy)
		__field(int, err)
	),
	TP_fast_assign(
		__entry->seq = atomic64_inc_return(&clone_trace_seq);
		__entry->dev = dev;
		__entry->block = block;
		__entry->count = count;
		__entry->copy = copy;
		__entry->err = err;
	),
	TP_printk("seq=%llu dev=%d:%d block=%lu count=%u copy=%u err=%d",
		  __entry->seq, MAJOR(__entry->dev), MINOR(__entry->dev),
		  __entry->block, __entry->count, __entry->copy, __entry->err)
);

DEFINE_EVENT(clone_md_io, clone_md_write_begin,
	TP_PROTO(dev_t dev, unsigned long block, unsigned int count,
		 unsigned int copy, int err),
	TP_ARGS(dev, block, count, copy, err));
DEFINE_EVENT(clone_md_io, clone_md_write_end,
	TP_PROTO(dev_t dev, unsigned long block, unsigned int count,
		 unsigned int copy, int err),
	TP_ARGS(dev, block, count, copy, err));

/*
 * Version 2: a write of both copies of the record at ring position @pos,
 * @runs runs of regions (each copy with FUA, the two at once), and its end.
 */
DECLARE_EVENT_CLASS(clone_record,
	TP_PROTO(dev_t dev, u64 pos, unsigned int runs, int err),
	TP_ARGS(dev, pos, runs, err),
	TP_STRUCT__entry(
		__field(u64, seq)
		__field(dev_t, dev)
		__field(u64, pos)
		__field(unsigned int, runs)
		__field(int, err)
	),
	TP_fast_assign(
		__entry->seq = atomic64_inc_return(&clone_trace_seq);
		__entry->dev = dev;
		__entry->pos = pos;
		__entry->runs = runs;
		__entry->err = err;
	),
	TP_printk("seq=%llu dev=%d:%d pos=%llu runs=%u err=%d",
		  __entry->seq, MAJOR(__entry->dev), MINOR(__entry->dev),
		  __entry->pos, __entry->runs, __entry->err)
);

DEFINE_EVENT(clone_record, clone_record_begin,
	TP_PROTO(dev_t dev, u64 pos, unsigned int runs, int err),
	TP_ARGS(dev, pos, runs, err));
DEFINE_EVENT(clone_record, clone_record_end,
	TP_PROTO(dev_t dev, u64 pos, unsigned int runs, int err),
	TP_ARGS(dev, pos, runs, err));

/* A record's run: regions [first, first + count) at ring position @pos. */
TRACE_EVENT(clone_record_run,
	TP_PROTO(dev_t dev, u64 pos, unsigned long first, unsigned long count),
	TP_ARGS(dev, pos, first, count),
	TP_STRUCT__entry(
		__field(u64, seq)
		__field(dev_t, dev)
		__field(u64, pos)
		__field(unsigned long, first)
		__field(unsigned long, count)
	),
	TP_fast_assign(
		__entry->seq = atomic64_inc_return(&clone_trace_seq);
		__entry->dev = dev;
		__entry->pos = pos;
		__entry->first = first;
		__entry->count = count;
	),
	TP_printk("seq=%llu dev=%d:%d pos=%llu first=%lu count=%lu",
		  __entry->seq, MAJOR(__entry->dev), MINOR(__entry->dev),
		  __entry->pos, __entry->first, __entry->count)
);

/*
 * Version 2: superblock copy @copy written naming checkpoint @checkpoint,
 * and flushed (@err: how it ended).
 */
TRACE_EVENT(clone_sb_write,
	TP_PROTO(dev_t dev, unsigned int copy, u64 checkpoint, int err),
	TP_ARGS(dev, copy, checkpoint, err),
	TP_STRUCT__entry(
		__field(u64, seq)
		__field(dev_t, dev)
		__field(unsigned int, copy)
		__field(u64, checkpoint)
		__field(int, err)
	),
	TP_fast_assign(
		__entry->seq = atomic64_inc_return(&clone_trace_seq);
		__entry->dev = dev;
		__entry->copy = copy;
		__entry->checkpoint = checkpoint;
		__entry->err = err;
	),
	TP_printk("seq=%llu dev=%d:%d copy=%u checkpoint=%llu err=%d",
		  __entry->seq, MAJOR(__entry->dev), MINOR(__entry->dev),
		  __entry->copy, __entry->checkpoint, __entry->err)
);

/*
 * A user's write to regions [region, region + nr) completed (clone_endio):
 * acknowledged now, unless it is a FUA write that waits for a commit
 * (@wait), which clone_fua_ack acknowledges later.
 */
TRACE_EVENT(clone_write_end,
	TP_PROTO(dev_t dev, unsigned long region, unsigned long nr, bool fua,
		 bool wait, int err),
	TP_ARGS(dev, region, nr, fua, wait, err),
	TP_STRUCT__entry(
		__field(u64, seq)
		__field(dev_t, dev)
		__field(unsigned long, region)
		__field(unsigned long, nr)
		__field(bool, fua)
		__field(bool, wait)
		__field(int, err)
	),
	TP_fast_assign(
		__entry->seq = atomic64_inc_return(&clone_trace_seq);
		__entry->dev = dev;
		__entry->region = region;
		__entry->nr = nr;
		__entry->fua = fua;
		__entry->wait = wait;
		__entry->err = err;
	),
	TP_printk("seq=%llu dev=%d:%d region=%lu nr=%lu fua=%d wait=%d err=%d",
		  __entry->seq, MAJOR(__entry->dev), MINOR(__entry->dev),
		  __entry->region, __entry->nr, __entry->fua, __entry->wait,
		  __entry->err)
);

/* A FUA write that waited for a commit is acknowledged. */
TRACE_EVENT(clone_fua_ack,
	TP_PROTO(dev_t dev, unsigned long region, unsigned long nr, int err),
	TP_ARGS(dev, region, nr, err),
	TP_STRUCT__entry(
		__field(u64, seq)
		__field(dev_t, dev)
		__field(unsigned long, region)
		__field(unsigned long, nr)
		__field(int, err)
	),
	TP_fast_assign(
		__entry->seq = atomic64_inc_return(&clone_trace_seq);
		__entry->dev = dev;
		__entry->region = region;
		__entry->nr = nr;
		__entry->err = err;
	),
	TP_printk("seq=%llu dev=%d:%d region=%lu nr=%lu err=%d",
		  __entry->seq, MAJOR(__entry->dev), MINOR(__entry->dev),
		  __entry->region, __entry->nr, __entry->err)
);

/*
 * A FLUSH: arrives (clone_map), is passed down to the destination (then it
 * is a flush of it), and is acknowledged. @id tells FLUSHes in flight at
 * once apart (the bio's address, hashed by %p).
 */
DECLARE_EVENT_CLASS(clone_flush,
	TP_PROTO(dev_t dev, const void *id, int err),
	TP_ARGS(dev, id, err),
	TP_STRUCT__entry(
		__field(u64, seq)
		__field(dev_t, dev)
		__field(const void *, id)
		__field(int, err)
	),
	TP_fast_assign(
		__entry->seq = atomic64_inc_return(&clone_trace_seq);
		__entry->dev = dev;
		__entry->id = id;
		__entry->err = err;
	),
	TP_printk("seq=%llu dev=%d:%d id=%p err=%d",
		  __entry->seq, MAJOR(__entry->dev), MINOR(__entry->dev),
		  __entry->id, __entry->err)
);

DEFINE_EVENT(clone_flush, clone_flush_arrive,
	TP_PROTO(dev_t dev, const void *id, int err), TP_ARGS(dev, id, err));
DEFINE_EVENT(clone_flush, clone_flush_pass,
	TP_PROTO(dev_t dev, const void *id, int err), TP_ARGS(dev, id, err));
DEFINE_EVENT(clone_flush, clone_flush_ack,
	TP_PROTO(dev_t dev, const void *id, int err), TP_ARGS(dev, id, err));

#endif /* DM_CLONE_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE dm-clone-trace
#include <trace/define_trace.h>
