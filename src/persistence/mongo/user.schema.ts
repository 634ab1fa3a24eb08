import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Schema as MongooseSchema } from 'mongoose';
import type { InstalledApp, SettingValue, UserAppSettings } from '../persistence.types.js';

@Schema({ _id: false, versionKey: false, minimize: false })
export class InstalledAppEntry {
  @Prop({ type: String })
  packageName!: string;

  @Prop({ type: Date, required: true })
  installedDate!: Date;
}

@Schema({ _id: false, versionKey: false, minimize: false })
export class SettingValueEntry {
  @Prop({ type: String })
  key!: string;

  @Prop({ type: MongooseSchema.Types.Mixed })
  value?: unknown;
}

const SettingValueEntrySchema = SchemaFactory.createForClass(SettingValueEntry);

@Schema({ _id: false, versionKey: false, minimize: false })
export class UserAppSettingsEntry {
  @Prop({ type: String })
  packageName!: string;

  @Prop({ type: [SettingValueEntrySchema], default: [] })
  settings!: SettingValue[];
}

const InstalledAppEntrySchema = SchemaFactory.createForClass(InstalledAppEntry);
const UserAppSettingsEntrySchema = SchemaFactory.createForClass(UserAppSettingsEntry);

/** Per-app settings are a list keyed by packageName, not a map: package names contain dots. */
@Schema({ collection: 'users', versionKey: false, minimize: false, strictQuery: 'throw' })
export class UserEntity {
  @Prop({ type: String, required: true, unique: true })
  userId!: string;

  @Prop({ type: [InstalledAppEntrySchema], default: [] })
  installedApps!: InstalledApp[];

  @Prop({ type: [String], default: [] })
  runningApps!: string[];

  @Prop({ type: [UserAppSettingsEntrySchema], default: [] })
  appSettings!: UserAppSettings[];

  /** The lowest core-token version accepted (absent: 0); never part of UserRecord. */
  @Prop({ type: Number, required: false })
  tokenVersion?: number;

  /** Flat map of the phone's settings; keys are checked on write (no `.`, no leading `$`). */
  @Prop({ type: MongooseSchema.Types.Mixed, default: {} })
  userSettings!: Record<string, unknown>;

  @Prop({ type: Date, required: true })
  createdAt!: Date;

  @Prop({ type: Date, required: true })
  updatedAt!: Date;
}

export const USER_MODEL = 'User';
export const UserSchema = SchemaFactory.createForClass(UserEntity);
