/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few places where the kernels we build for (Debian's 6.1 and 6.12
 * lines) differ, so that the rest of the code has one path.
 */
#ifndef DM_CLONE_COMPAT_H
#define DM_CLONE_COMPAT_H

#include <linux/version.h>
#include <linux/blkdev.h>

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
/* 6.5 replaced fmode_t with blk_mode_t for opening block devices. */
#define CLONE_OPEN_READ		BLK_OPEN_READ
#define CLONE_OPEN_RW		(BLK_OPEN_READ | BLK_OPEN_WRITE)
#else
#define CLONE_OPEN_READ		FMODE_READ
#define CLONE_OPEN_RW		(FMODE_READ | FMODE_WRITE)
#endif

/*
 * 6.10 derives max_discard_sectors from max_hw_discard_sectors when limits
 * are validated; before, stacking drivers set both.
 */
static inline void clone_set_max_discard(struct queue_limits *limits,
					 unsigned int sectors)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 10, 0)
	limits->max_discard_sectors = sectors;
#endif
	limits->max_hw_discard_sectors = sectors;
}

#endif /* DM_CLONE_COMPAT_H */
