import type {
  MetricCounter,
  MetricGauge,
  MetricHistogram,
  MetricMeter,
  MetricTags,
  NumericMetricValueType,
} from '@temporalio/common';

/**
 * A MetricMeter that keeps what was recorded, keyed `name{k=v,…}` (tags sorted): for code that reports
 * through a meter without a Prometheus endpoint in the test process.
 */
export class RecordingMeter implements MetricMeter {
  readonly values = new Map<string, number>();

  private key(name: string, tags: MetricTags = {}): string {
    const labels = Object.entries(tags)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(',');
    return `${name}{${labels}}`;
  }

  get(name: string, tags: MetricTags = {}): number | undefined {
    return this.values.get(this.key(name, tags));
  }

  createCounter(name: string, unit = '', description = ''): MetricCounter {
    const counter: MetricCounter = {
      name,
      unit,
      description,
      kind: 'counter',
      valueType: 'int',
      add: (value, tags) => {
        const key = this.key(name, tags);
        this.values.set(key, (this.values.get(key) ?? 0) + value);
      },
      withTags: () => counter,
    };
    return counter;
  }

  createGauge(
    name: string,
    valueType: NumericMetricValueType = 'int',
    unit = '',
    description = '',
  ): MetricGauge {
    const gauge: MetricGauge = {
      name,
      unit,
      description,
      kind: 'gauge',
      valueType,
      set: (value, tags) => void this.values.set(this.key(name, tags), value),
      withTags: () => gauge,
    };
    return gauge;
  }

  createHistogram(
    name: string,
    valueType: NumericMetricValueType = 'int',
    unit = '',
    description = '',
  ): MetricHistogram {
    const histogram: MetricHistogram = {
      name,
      unit,
      description,
      kind: 'histogram',
      valueType,
      record: () => undefined,
      withTags: () => histogram,
    };
    return histogram;
  }

  withTags(): MetricMeter {
    return this;
  }
}
