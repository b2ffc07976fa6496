import type { ActionStatus } from '../store/store';

export const STATE_DISPLAY: Record<ActionStatus, { label: string; icon: string; color: string }> = {
  waiting: { label: 'waiting', icon: '⏳', color: 'Default' },
  ready: { label: 'queued', icon: '⏳', color: 'Default' },
  awaiting_approval: { label: 'awaiting approval', icon: '✋', color: 'Warning' },
  running: { label: 'running', icon: '▶️', color: 'Accent' },
  succeeded: { label: 'done', icon: '✅', color: 'Good' },
  failed: { label: 'failed', icon: '❌', color: 'Attention' },
  rejected: { label: 'rejected', icon: '⛔', color: 'Attention' },
  skipped: { label: 'skipped', icon: '⏭️', color: 'Default' },
  expired: { label: 'approval expired', icon: '⌛', color: 'Warning' },
  cancelled: { label: 'cancelled', icon: '⏹️', color: 'Default' },
};
