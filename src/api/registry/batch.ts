// batch/v1 resources: jobs and cronjobs, each with a status subresource. Defaulting and validation
// follow kube-apiserver for the fields used: a Job's selector is generated from its uid (labels
// batch.kubernetes.io/controller-uid and job-name on the template) unless spec.manualSelector, its
// pods must not restart Always, and its selector, template, completions and completionMode are
// immutable; a CronJob's schedule is required and shaped like a cron line.

import { causes, type StatusCause } from '../status.js';
import { defaultPodSpec, podSpecSchema, validatePodSpec } from './core.js';
import { objectMetaSchema, typeAndObjectMeta } from './meta.js';
import { labelValueError } from './schema.js';
import { READ_WRITE_VERBS, STATUS_VERBS, child, isObject, jsonEqual, setDefault, type FieldSchema, type JsonObject, type ResourceDefinition, type SubresourceDefinition } from './types.js';

/** The labels a generated Job selector uses (and their pre-1.27 names, still set on pod templates). */
export const JOB_CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const LEGACY_JOB_CONTROLLER_UID_LABEL = 'controller-uid';
export const LEGACY_JOB_NAME_LABEL = 'job-name';

/** A CronJob's name leaves room for the 11-character suffix of the Jobs it creates. */
export const MAX_CRONJOB_NAME_LENGTH = 52;

const any: FieldSchema = { type: 'any' };
const str: FieldSchema = { type: 'string' };
const time = (description: string): FieldSchema => ({ type: 'string', description });

const labelSelectorSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector',
  description:
    'A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors',
  properties: {
    matchLabels: { type: 'object', additionalProperties: str, description: 'matchLabels is a map of {key,value} pairs. A single {key,value} in the matchLabels map is equivalent to an element of matchExpressions.' },
    matchExpressions: {
      type: 'array',
      description: 'matchExpressions is a list of label selector requirements. The requirements are ANDed.',
      items: { type: 'object', required: ['key', 'operator'], properties: { key: str, operator: str, values: { type: 'array', items: str } } },
    },
  },
};

const podTemplateSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.api.core.v1.PodTemplateSpec',
  description:
    'Describes the pod that will be created when executing a job. The only allowed template.spec.restartPolicy values are "Never" or "OnFailure". More info: https://kubernetes.io/docs/concepts/workloads/controllers/jobs-run-to-completion/',
  properties: { metadata: objectMetaSchema, spec: podSpecSchema },
};

const jobSpecSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.api.batch.v1.JobSpec',
  description: 'Specification of the desired behavior of a job. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#spec-and-status',
  required: ['template'],
  properties: {
    parallelism: {
      type: 'integer',
      minimum: 0,
      description:
        'Specifies the maximum desired number of pods the job should run at any given time. The actual number of pods running in steady state will be less than this number when ((.spec.completions - .status.successful) < .spec.parallelism), i.e. when the work left to do is less than max parallelism. Defaults to 1.',
    },
    completions: {
      type: 'integer',
      minimum: 0,
      description:
        'Specifies the desired number of successfully finished pods the job should be run with. Setting to null means that the success of any pod signals the success of all pods, and allows parallelism to have any positive value. Setting to 1 means that parallelism is limited to 1 and the success of that pod signals the success of the job.',
    },
    activeDeadlineSeconds: {
      type: 'integer',
      minimum: 0,
      description:
        'Specifies the duration in seconds relative to the startTime that the job may be continuously active before the system tries to terminate it; value must be positive integer. If a Job is suspended (at creation or through an update), this timer will effectively be stopped and reset when the Job is resumed again.',
    },
    podFailurePolicy: { type: 'object', additionalProperties: any, description: 'Specifies the policy of handling failed pods. (Accepted, not acted on by kplane.)' },
    successPolicy: { type: 'object', additionalProperties: any, description: 'successPolicy specifies the policy when the Job can be declared as succeeded. (Accepted, not acted on by kplane.)' },
    backoffLimit: { type: 'integer', minimum: 0, description: 'Specifies the number of retries before marking this job failed. Defaults to 6' },
    backoffLimitPerIndex: { type: 'integer', minimum: 0, description: 'Specifies the limit for the number of retries within an index before marking this index as failed. (Accepted, not acted on by kplane.)' },
    maxFailedIndexes: { type: 'integer', minimum: 0, description: 'Specifies the maximal number of failed indexes before marking the Job as failed, when backoffLimitPerIndex is set. (Accepted, not acted on by kplane.)' },
    selector: labelSelectorSchema,
    manualSelector: {
      type: 'boolean',
      description:
        'manualSelector controls generation of pod labels and pod selectors. Leave `manualSelector` unset unless you are certain what you are doing. When false or unset, the system pick labels unique to this job and appends those labels to the pod template. When true, the user is responsible for picking unique labels and specifying the selector.',
    },
    template: podTemplateSchema,
    ttlSecondsAfterFinished: {
      type: 'integer',
      minimum: 0,
      description:
        'ttlSecondsAfterFinished limits the lifetime of a Job that has finished execution (either Complete or Failed). If this field is set, ttlSecondsAfterFinished after the Job finishes, it is eligible to be automatically deleted. When the Job is being deleted, its lifecycle guarantees (e.g. finalizers) will be honored. If this field is unset, the Job won\'t be automatically deleted. If this field is set to zero, the Job becomes eligible to be deleted immediately after it finishes.',
    },
    completionMode: {
      type: 'string',
      enum: ['NonIndexed', 'Indexed'],
      description:
        'completionMode specifies how Pod completions are tracked. It can be `NonIndexed` (default) or `Indexed`. `NonIndexed` means that the Job is considered complete when there have been .spec.completions successfully completed Pods. `Indexed` means that the Pods of a Job get an associated completion index from 0 to (.spec.completions - 1), available in the annotation batch.kubernetes.io/job-completion-index.',
    },
    suspend: {
      type: 'boolean',
      description:
        'suspend specifies whether the Job controller should create Pods or not. If a Job is created with suspend set to true, no Pods are created by the Job controller. If a Job is suspended after creation (i.e. the flag goes from false to true), the Job controller will delete all active Pods associated with this Job. Defaults to false.',
    },
    podReplacementPolicy: { type: 'string', enum: ['TerminatingOrFailed', 'Failed'], description: 'podReplacementPolicy specifies when to create replacement Pods. Defaults to TerminatingOrFailed.' },
    managedBy: { type: 'string', description: 'ManagedBy field indicates the controller that manages a Job. (Accepted, not acted on by kplane.)' },
  },
};

const jobConditionSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.api.batch.v1.JobCondition',
  description: 'JobCondition describes current state of a job.',
  required: ['type', 'status'],
  properties: {
    type: { type: 'string', description: 'Type of job condition, Complete or Failed.' },
    status: { type: 'string', description: 'Status of the condition, one of True, False, Unknown.' },
    lastProbeTime: time('Last time the condition was checked.'),
    lastTransitionTime: time('Last time the condition transit from one status to another.'),
    reason: { type: 'string', description: "(brief) reason for the condition's last transition." },
    message: { type: 'string', description: 'Human readable message indicating details about last transition.' },
  },
};

const jobStatusSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.api.batch.v1.JobStatus',
  description: 'Current status of a job. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#spec-and-status',
  properties: {
    conditions: { type: 'array', items: jobConditionSchema, description: 'The latest available observations of an object\'s current state. When a Job fails, one of the conditions will have type "Failed" and status true. When a Job is suspended, one of the conditions will have type "Suspended" and status true; when the Job is resumed, the status of this condition will become false. When a Job is completed, one of the conditions will have type "Complete" and status true.' },
    startTime: time('Represents time when the job controller started processing a job. When a Job is created in the suspended state, this field is not set until the first time it is resumed.'),
    completionTime: time('Represents time when the job was completed. It is not guaranteed to be set in happens-before order across separate operations. The completion time is set when the job finishes successfully, and only then.'),
    active: { type: 'integer', description: 'The number of pending and running pods which are not terminating (without a deletionTimestamp).' },
    succeeded: { type: 'integer', description: 'The number of pods which reached phase Succeeded.' },
    failed: { type: 'integer', description: 'The number of pods which reached phase Failed.' },
    terminating: { type: 'integer', description: 'The number of pods which are terminating (that have a deletionTimestamp).' },
    ready: { type: 'integer', description: 'The number of active pods which have a Ready condition and are not terminating (without a deletionTimestamp).' },
    completedIndexes: { type: 'string', description: 'completedIndexes holds the completed indexes when .spec.completionMode = "Indexed" in a text format, e.g. "1,3-5,7".' },
    failedIndexes: { type: 'string', description: 'FailedIndexes holds the failed indexes when spec.backoffLimitPerIndex is set.' },
    uncountedTerminatedPods: { type: 'object', additionalProperties: any, description: "uncountedTerminatedPods holds the UIDs of Pods that have terminated but the job controller hasn't yet accounted for in the status counters." },
  },
};

const objectReferenceSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.api.core.v1.ObjectReference',
  description: 'ObjectReference contains enough information to let you inspect or modify the referred object.',
  properties: {
    apiVersion: { type: 'string', description: 'API version of the referent.' },
    kind: { type: 'string', description: 'Kind of the referent.' },
    namespace: { type: 'string', description: 'Namespace of the referent.' },
    name: { type: 'string', description: 'Name of the referent.' },
    uid: { type: 'string', description: 'UID of the referent.' },
    resourceVersion: { type: 'string', description: 'Specific resourceVersion to which this reference is made, if any.' },
    fieldPath: { type: 'string', description: 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.' },
  },
};

const cronJobSpecSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.api.batch.v1.CronJobSpec',
  description: 'Specification of the desired behavior of a cron job, including the schedule. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#spec-and-status',
  required: ['schedule', 'jobTemplate'],
  properties: {
    schedule: { type: 'string', description: 'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.' },
    timeZone: { type: 'string', description: 'The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process.' },
    startingDeadlineSeconds: { type: 'integer', minimum: 0, description: 'Optional deadline in seconds for starting the job if it misses scheduled time for any reason.  Missed jobs executions will be counted as failed ones.' },
    concurrencyPolicy: {
      type: 'string',
      enum: ['Allow', 'Forbid', 'Replace'],
      description:
        'Specifies how to treat concurrent executions of a Job. Valid values are:\n\n- "Allow" (default): allows CronJobs to run concurrently; - "Forbid": forbids concurrent runs, skipping next run if previous run hasn\'t finished yet; - "Replace": cancels currently running job and replaces it with a new one',
    },
    suspend: { type: 'boolean', description: 'This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.' },
    jobTemplate: {
      type: 'object',
      typeName: 'io.k8s.api.batch.v1.JobTemplateSpec',
      description: 'Specifies the job that will be created when executing a CronJob.',
      required: ['spec'],
      properties: {
        metadata: objectMetaSchema,
        spec: jobSpecSchema,
      },
    },
    successfulJobsHistoryLimit: { type: 'integer', minimum: 0, description: 'The number of successful finished jobs to retain. Value must be non-negative integer. Defaults to 3.' },
    failedJobsHistoryLimit: { type: 'integer', minimum: 0, description: 'The number of failed finished jobs to retain. Value must be non-negative integer. Defaults to 1.' },
  },
};

const cronJobStatusSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.api.batch.v1.CronJobStatus',
  description: 'Current status of a cron job. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#spec-and-status',
  properties: {
    active: { type: 'array', items: objectReferenceSchema, description: 'A list of pointers to currently running jobs.' },
    lastScheduleTime: time('Information when was the last time the job was successfully scheduled.'),
    lastSuccessfulTime: time('Information when was the last time the job successfully completed.'),
  },
};

// ---- Job defaulting and validation ---------------------------------------------------------------

function metadataOf(object: JsonObject): JsonObject {
  return isObject(object['metadata']) ? object['metadata'] : {};
}

/** Kubernetes' SetDefaults_Job for a JobSpec (also what a CronJob's Jobs get when they are created). */
export function defaultJobSpec(spec: JsonObject): void {
  if ((spec['completions'] === undefined || spec['completions'] === null) && (spec['parallelism'] === undefined || spec['parallelism'] === null)) {
    spec['completions'] = 1;
    spec['parallelism'] = 1;
  }
  setDefault(spec, 'parallelism', 1);
  if (spec['backoffLimitPerIndex'] === undefined || spec['backoffLimitPerIndex'] === null) setDefault(spec, 'backoffLimit', 6);
  else setDefault(spec, 'backoffLimit', 2147483647);
  setDefault(spec, 'completionMode', 'NonIndexed');
  setDefault(spec, 'suspend', false);
  if (spec['podFailurePolicy'] === undefined || spec['podFailurePolicy'] === null) setDefault(spec, 'podReplacementPolicy', 'TerminatingOrFailed');
  else setDefault(spec, 'podReplacementPolicy', 'Failed');
}

function defaultPodTemplate(spec: JsonObject): void {
  defaultPodSpec(child(child(spec, 'template'), 'spec'));
}

/**
 * The generated selector (Kubernetes' generateSelector): template labels job-name and controller-uid
 * (new and legacy names) unless the user set them, and the selector `controller-uid=<uid>`. Needs the
 * uid, which the create handler assigns before defaulting.
 */
function generateSelector(object: JsonObject, spec: JsonObject): void {
  if (spec['manualSelector'] === true) return;
  const metadata = metadataOf(object);
  const uid = metadata['uid'];
  const name = metadata['name'];
  if (typeof uid !== 'string' || uid === '' || typeof name !== 'string') return;
  const templateMetadata = child(child(spec, 'template'), 'metadata');
  const labels = child(templateMetadata, 'labels');
  setDefault(labels, LEGACY_JOB_NAME_LABEL, name);
  setDefault(labels, JOB_NAME_LABEL, name);
  setDefault(labels, LEGACY_JOB_CONTROLLER_UID_LABEL, uid);
  setDefault(labels, JOB_CONTROLLER_UID_LABEL, uid);
  const matchLabels = child(child(spec, 'selector'), 'matchLabels');
  setDefault(matchLabels, JOB_CONTROLLER_UID_LABEL, uid);
}

function labelsOf(value: unknown): JsonObject {
  return isObject(value) && isObject(value['labels']) ? value['labels'] : {};
}

function validateRestartPolicy(podSpec: unknown, path: string): StatusCause[] {
  const policy = isObject(podSpec) ? podSpec['restartPolicy'] : undefined;
  if (policy === 'OnFailure' || policy === 'Never') return [];
  if (policy === undefined || policy === null || policy === '') return [causes.required(path, 'valid values: "OnFailure", "Never"')];
  return [causes.notSupported(path, policy, ['OnFailure', 'Never'])];
}

/** Checks of a JobSpec at `path` (spec, spec.jobTemplate.spec); `selectorRequired` for Jobs themselves. */
function validateJobSpec(spec: unknown, path: string, selectorRequired: boolean): StatusCause[] {
  if (!isObject(spec)) return [causes.required(path)];
  const out: StatusCause[] = [];
  const template = spec['template'];
  if (!isObject(template)) return [causes.required(`${path}.template`)];
  out.push(...validatePodSpec(template['spec'], `${path}.template.spec`));
  out.push(...validateRestartPolicy(template['spec'], `${path}.template.spec.restartPolicy`));
  if (spec['completionMode'] === 'Indexed' && (typeof spec['completions'] !== 'number')) {
    out.push(causes.required(`${path}.completions`, 'when completion mode is Indexed'));
  }
  const selector = spec['selector'];
  if (selectorRequired) {
    const matchLabels = isObject(selector) && isObject(selector['matchLabels']) ? selector['matchLabels'] : {};
    const expressions = isObject(selector) && Array.isArray(selector['matchExpressions']) ? selector['matchExpressions'] : [];
    if (!isObject(selector) || (Object.keys(matchLabels).length === 0 && expressions.length === 0)) out.push(causes.required(`${path}.selector`));
    const labels = labelsOf(template['metadata']);
    for (const [key, value] of Object.entries(matchLabels)) {
      if (labels[key] !== value) {
        out.push(causes.invalid(`${path}.template.metadata.labels`, labels, '`selector` does not match template `labels`'));
        break;
      }
    }
  }
  for (const [key, value] of Object.entries(labelsOf(template['metadata']))) {
    if (typeof value !== 'string') continue;
    const error = labelValueError(value);
    if (error !== undefined) out.push(causes.invalid(`${path}.template.metadata.labels`, value, `${key}: ${error}`));
  }
  return out;
}

/** A generated selector must be exactly controller-uid=<uid> (Kubernetes' ValidateGeneratedSelector). */
function validateGeneratedSelector(object: JsonObject, spec: JsonObject): StatusCause[] {
  if (spec['manualSelector'] === true) return [];
  const uid = metadataOf(object)['uid'];
  if (typeof uid !== 'string' || uid === '') return [];
  const selector = spec['selector'];
  const matchLabels = isObject(selector) && isObject(selector['matchLabels']) ? selector['matchLabels'] : {};
  const expressions = isObject(selector) && Array.isArray(selector['matchExpressions']) ? selector['matchExpressions'] : [];
  const onlyTheUid = matchLabels[JOB_CONTROLLER_UID_LABEL] === uid && Object.keys(matchLabels).length === 1 && expressions.length === 0;
  if (!onlyTheUid) {
    return [causes.invalid('spec.selector', selector, '`selector` not auto-generated')];
  }
  const labels = labelsOf(isObject(spec['template']) ? spec['template']['metadata'] : undefined);
  if (labels[JOB_CONTROLLER_UID_LABEL] !== uid) {
    return [causes.invalid(`spec.template.metadata.labels[${JOB_CONTROLLER_UID_LABEL}]`, labels[JOB_CONTROLLER_UID_LABEL], `must be '${uid}'`)];
  }
  return [];
}

/** Fields of a Job's spec that may not change once created (Kubernetes' ValidateJobSpecUpdate, simplified). */
const IMMUTABLE_JOB_FIELDS = ['selector', 'template', 'completions', 'completionMode', 'podFailurePolicy', 'backoffLimitPerIndex', 'manualSelector'] as const;

function validateJob(object: JsonObject, old: JsonObject | undefined): StatusCause[] {
  const spec = object['spec'];
  if (!isObject(spec)) return [causes.required('spec')];
  const out = validateJobSpec(spec, 'spec', true);
  out.push(...validateGeneratedSelector(object, spec));
  if (old !== undefined && isObject(old['spec'])) {
    const previous = old['spec'];
    for (const field of IMMUTABLE_JOB_FIELDS) {
      if (!jsonEqual(previous[field], spec[field])) out.push(causes.invalid(`spec.${field}`, spec[field] ?? null, 'field is immutable'));
    }
  }
  return out;
}

// ---- CronJob validation ------------------------------------------------------------------------

const SCHEDULE_MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

/** The shape of a schedule: five fields or a macro (the cron parser checks each field's values). */
function scheduleShapeError(schedule: string): string | undefined {
  const trimmed = schedule.trim();
  if (/^(CRON_)?TZ=/.test(trimmed)) return 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead';
  if (trimmed.startsWith('@')) {
    if (SCHEDULE_MACROS.includes(trimmed) || trimmed.startsWith('@every ')) return undefined;
    return `unrecognized descriptor: ${trimmed}`;
  }
  const fields = trimmed.split(/\s+/).filter((field) => field !== '');
  if (fields.length !== 5) return `expected exactly 5 fields, found ${fields.length}: ${schedule}`;
  return undefined;
}

function validateCronJob(object: JsonObject): StatusCause[] {
  const out: StatusCause[] = [];
  const name = metadataOf(object)['name'];
  if (typeof name === 'string' && name.length > MAX_CRONJOB_NAME_LENGTH) out.push(causes.invalid('metadata.name', name, `must be no more than ${MAX_CRONJOB_NAME_LENGTH} characters`));
  const spec = object['spec'];
  if (!isObject(spec)) return [...out, causes.required('spec')];
  const schedule = spec['schedule'];
  if (typeof schedule !== 'string' || schedule.trim() === '') out.push(causes.required('spec.schedule'));
  else {
    const error = scheduleShapeError(schedule);
    if (error !== undefined) out.push(causes.invalid('spec.schedule', schedule, error));
  }
  const jobTemplate = spec['jobTemplate'];
  if (!isObject(jobTemplate)) out.push(causes.required('spec.jobTemplate'));
  else out.push(...validateJobSpec(jobTemplate['spec'], 'spec.jobTemplate.spec', false));
  return out;
}

// ---- resources ---------------------------------------------------------------------------------

const status: SubresourceDefinition = { name: 'status', verbs: STATUS_VERBS };

export const jobs: ResourceDefinition = {
  group: 'batch',
  version: 'v1',
  kind: 'Job',
  listKind: 'JobList',
  plural: 'jobs',
  singular: 'job',
  shortNames: [],
  namespaced: true,
  verbs: READ_WRITE_VERBS,
  subresources: [status],
  categories: ['all'],
  schema: {
    type: 'object',
    description: 'Job represents the configuration of a single job.',
    properties: { ...typeAndObjectMeta, spec: jobSpecSchema, status: jobStatusSchema },
  },
  hasStatusSubresource: true,
  defaults: (object) => {
    const spec = child(object, 'spec');
    defaultJobSpec(spec);
    defaultPodTemplate(spec);
    generateSelector(object, spec);
    // A Job without labels of its own shows its pods' (Kubernetes' SetDefaults_Job, seen after the generated ones).
    const templateLabels = labelsOf(child(child(spec, 'template'), 'metadata'));
    const metadata = child(object, 'metadata');
    const labels = metadata['labels'];
    if (Object.keys(templateLabels).length > 0 && (!isObject(labels) || Object.keys(labels).length === 0)) metadata['labels'] = { ...templateLabels };
  },
  validate: validateJob,
};

export const cronjobs: ResourceDefinition = {
  group: 'batch',
  version: 'v1',
  kind: 'CronJob',
  listKind: 'CronJobList',
  plural: 'cronjobs',
  singular: 'cronjob',
  shortNames: ['cj'],
  namespaced: true,
  verbs: READ_WRITE_VERBS,
  subresources: [status],
  categories: ['all'],
  schema: {
    type: 'object',
    description: 'CronJob represents the configuration of a single cron job.',
    properties: { ...typeAndObjectMeta, spec: cronJobSpecSchema, status: cronJobStatusSchema },
  },
  hasStatusSubresource: true,
  defaults: (object) => {
    const spec = child(object, 'spec');
    setDefault(spec, 'concurrencyPolicy', 'Allow');
    setDefault(spec, 'suspend', false);
    setDefault(spec, 'successfulJobsHistoryLimit', 3);
    setDefault(spec, 'failedJobsHistoryLimit', 1);
    defaultPodTemplate(child(child(spec, 'jobTemplate'), 'spec'));
  },
  validate: validateCronJob,
};

export const batchResources: readonly ResourceDefinition[] = [jobs, cronjobs];
