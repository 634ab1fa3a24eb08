import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/** One stored key: the user's key is the *value* of `key`, so `$where` or `a.b` is never read as an operator or a path. */
@Schema({ _id: false, versionKey: false })
export class SimpleStorageEntryEntity {
  @Prop({ type: String })
  key!: string;

  @Prop({ type: String })
  value!: string;
}

const SimpleStorageEntrySchema = SchemaFactory.createForClass(SimpleStorageEntryEntity);

/** One document per (userId, packageName); `version` drives the compare-and-swap writes. */
@Schema({ collection: 'simple_storage', versionKey: false, strictQuery: 'throw' })
export class SimpleStorageEntity {
  @Prop({ type: String, required: true })
  userId!: string;

  @Prop({ type: String, required: true })
  packageName!: string;

  @Prop({ type: [SimpleStorageEntrySchema], default: [] })
  entries!: SimpleStorageEntryEntity[];

  @Prop({ type: Number, required: true })
  version!: number;

  @Prop({ type: Date, required: true })
  updatedAt!: Date;
}

export const SIMPLE_STORAGE_MODEL = 'SimpleStorage';
export const SimpleStorageSchema = SchemaFactory.createForClass(SimpleStorageEntity);
SimpleStorageSchema.index({ userId: 1, packageName: 1 }, { unique: true });
// Counts a package's users (its user limit) without a collection scan.
SimpleStorageSchema.index({ packageName: 1 });
