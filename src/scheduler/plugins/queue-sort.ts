// PrioritySort (queue sort): higher spec.priority first; the framework then orders by creation time.

import type { Plugin } from '../framework.js';

export const prioritySort: Plugin = {
  name: 'PrioritySort',
  queueSort: (a, b) => b.priority - a.priority,
};
